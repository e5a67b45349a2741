"""The VM's kernel, without the daemon: vivid, snd-aloop and snd-dummy are loaded with the
options the real-backend tests expect, and udev describes their nodes as sd-device will read them."""

import errno
import os
import stat

import pytest

import devnodes
from devnodes import CAP_META_CAPTURE, CAP_READWRITE, CAP_STREAMING, CAP_VIDEO_CAPTURE, CAP_VIDEO_CAPTURE_MPLANE


def test_vivid_has_exactly_one_single_planar_capture_node():
    path = devnodes.vivid_capture_node()
    cap = devnodes.video_nodes()[path]
    caps = devnodes.node_caps(cap)
    assert caps & CAP_VIDEO_CAPTURE and caps & CAP_STREAMING
    assert not caps & CAP_VIDEO_CAPTURE_MPLANE
    assert cap["bus_info"] == "platform:vivid-000"


def test_vivid_has_a_metadata_node_that_is_no_camera():
    meta = [p for p, c in devnodes.video_nodes().items()
            if c["driver"] == "vivid" and devnodes.node_caps(c) & CAP_META_CAPTURE]
    assert len(meta) == 1, devnodes.video_nodes()
    cap = devnodes.video_nodes()[meta[0]]
    assert not devnodes.node_caps(cap) & CAP_VIDEO_CAPTURE


def test_vivid_webcam_offers_yuyv_at_discrete_sizes_and_rates():
    with devnodes.VideoNode(devnodes.vivid_capture_node()) as node:
        assert "YUYV" in node.formats()
        sizes = node.frame_sizes("YUYV")
        assert sizes is not None, "a webcam input has discrete frame sizes"
        assert (640, 480) in sizes and (1280, 720) in sizes
        for width, height in sizes:
            rates = node.frame_rates("YUYV", width, height)
            assert rates and all(r > 0 for r in rates), (width, height)


def test_vivid_delivers_frames_through_read():
    with devnodes.VideoNode(devnodes.vivid_capture_node()) as node:
        assert devnodes.node_caps(node.querycap()) & CAP_READWRITE
        fmt = node.get_format()
        assert fmt["sizeimage"] >= fmt["bytesperline"] * fmt["height"] > 0
        first = os.read(node.fd, fmt["sizeimage"])
        second = os.read(node.fd, fmt["sizeimage"])
        assert len(first) == len(second) == fmt["sizeimage"]
        assert len(set(first)) > 1, "a frame of one byte value is no test pattern"


def test_vivid_has_its_disconnect_control():
    with devnodes.VideoNode(devnodes.vivid_capture_node()) as node:
        assert node.control_id("Disconnect") is not None


@pytest.mark.parametrize("card_id", ["Loopback", "Dummy"])
def test_alsa_card_has_one_capture_pcm_node(card_id):
    cards = devnodes.alsa_cards()
    assert card_id in cards, cards
    pcms = devnodes.capture_pcms(cards[card_id])
    assert pcms, f"no capture PCM for card {card_id}"
    for pcm in pcms:
        assert stat.S_ISCHR(os.stat(pcm).st_mode)
    info = open(f"/proc/asound/card{cards[card_id]}/pcm0c/info").read()
    assert "stream: CAPTURE" in info and "subdevices_count: 1" in info


def test_one_open_makes_the_dummy_capture_busy():
    pcm = devnodes.capture_pcms(devnodes.alsa_cards()["Dummy"])[0]
    fd = os.open(pcm, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError) as e:
            os.close(os.open(pcm, os.O_RDONLY | os.O_NONBLOCK))
        assert e.value.errno == errno.EBUSY  # the card's only capture substream is taken
    finally:
        os.close(fd)


def test_udev_gives_the_camera_a_path_identity():
    props = devnodes.udev_properties(devnodes.vivid_capture_node())
    assert props.get("ID_PATH") == "platform-vivid.0", props
    assert props.get("SUBSYSTEM") == "video4linux"
    assert ":capture:" in props.get("ID_V4L_CAPABILITIES", "")


@pytest.mark.parametrize("card_id, path", [("Loopback", "platform-snd_aloop.0"), ("Dummy", "platform-snd_dummy.0")])
def test_udev_gives_the_sound_cards_a_path_identity(card_id, path):
    card = devnodes.alsa_cards()[card_id]
    props = devnodes.udev_properties(f"/dev/snd/controlC{card}")
    assert props.get("ID_PATH") == path, props
    pcm = devnodes.udev_properties(devnodes.capture_pcms(card)[0])
    assert pcm.get("SUBSYSTEM") == "sound"
