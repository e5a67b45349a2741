"""The VM's kernel devices seen directly, without the daemon: the V4L2 ioctls the tests need
(struct layouts of linux/videodev2.h on x86-64) and the ALSA cards from /proc/asound."""

import errno
import fcntl
import glob
import os
import re
import struct
import subprocess

_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


CAPABILITY = struct.Struct("=16s32s32sIII3I")
FMTDESC = struct.Struct("=III32sII3I")
FRMSIZEENUM = struct.Struct("=III6I2I")
FRMIVALENUM = struct.Struct("=IIIII6I2I")
FORMAT = struct.Struct("=I4x12I152x")  # type, then v4l2_pix_format in the 200-byte union
QUERYCTRL = struct.Struct("=II32siiiiI2I")
CONTROL = struct.Struct("=Ii")

VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, CAPABILITY.size)
VIDIOC_ENUM_FMT = _ioc(_IOC_READ | _IOC_WRITE, 2, FMTDESC.size)
VIDIOC_G_FMT = _ioc(_IOC_READ | _IOC_WRITE, 4, FORMAT.size)
VIDIOC_S_CTRL = _ioc(_IOC_READ | _IOC_WRITE, 28, CONTROL.size)
VIDIOC_QUERYCTRL = _ioc(_IOC_READ | _IOC_WRITE, 36, QUERYCTRL.size)
VIDIOC_ENUM_FRAMESIZES = _ioc(_IOC_READ | _IOC_WRITE, 74, FRMSIZEENUM.size)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_IOC_READ | _IOC_WRITE, 75, FRMIVALENUM.size)

CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_META_CAPTURE = 0x00800000
CAP_READWRITE = 0x01000000
CAP_STREAMING = 0x04000000
BUF_TYPE_VIDEO_CAPTURE = 1
FRMSIZE_TYPE_DISCRETE = 1
FRMIVAL_TYPE_DISCRETE = 1
CTRL_FLAG_NEXT_CTRL = 0x80000000


def fourcc(code):
    return struct.pack("<I", code).decode("ascii", "replace")


def _ioctl(fd, request, packer, *values):
    buf = bytearray(packer.pack(*values))
    fcntl.ioctl(fd, request, buf)
    return packer.unpack(buf)


def _enumerate(fd, request, packer, head):
    """Results of an enumerating ioctl, index 0 upwards until EINVAL."""
    out = []
    while True:
        given = head(len(out))
        values = list(given) + list(packer.unpack(bytes(packer.size)))[len(given):]
        try:
            out.append(_ioctl(fd, request, packer, *values))
        except OSError as e:
            if e.errno == errno.EINVAL:
                return out
            raise


class VideoNode:
    """An open /dev/video* node."""

    def __init__(self, path, flags=os.O_RDWR):
        self.path = path
        self.fd = os.open(path, flags | os.O_CLOEXEC)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def querycap(self):
        driver, card, bus, version, caps, device_caps, *_ = _ioctl(self.fd, VIDIOC_QUERYCAP, CAPABILITY,
                                                                   *([b""] * 3 + [0] * 6))
        strip = lambda b: b.split(b"\0", 1)[0].decode()
        return dict(driver=strip(driver), card=strip(card), bus_info=strip(bus), version=version,
                    capabilities=caps, device_caps=device_caps)

    def formats(self):
        """The capture formats as fourcc strings."""
        return [fourcc(r[4]) for r in _enumerate(self.fd, VIDIOC_ENUM_FMT, FMTDESC,
                                                 lambda i: (i, BUF_TYPE_VIDEO_CAPTURE))]

    def frame_sizes(self, fmt):
        """[(width, height)] of a fourcc whose sizes are discrete (a webcam's are); None for a
        stepwise or continuous range."""
        code = struct.unpack("<I", fmt.encode())[0]
        rows = _enumerate(self.fd, VIDIOC_ENUM_FRAMESIZES, FRMSIZEENUM, lambda i: (i, code))
        if any(r[2] != FRMSIZE_TYPE_DISCRETE for r in rows):
            return None
        return [(r[3], r[4]) for r in rows]

    def frame_rates(self, fmt, width, height):
        """The discrete frame rates (fps) of a size."""
        code = struct.unpack("<I", fmt.encode())[0]
        rows = _enumerate(self.fd, VIDIOC_ENUM_FRAMEINTERVALS, FRMIVALENUM,
                          lambda i: (i, code, width, height))
        return [r[6] / r[5] for r in rows if r[4] == FRMIVAL_TYPE_DISCRETE and r[5]]

    def get_format(self):
        values = _ioctl(self.fd, VIDIOC_G_FMT, FORMAT, BUF_TYPE_VIDEO_CAPTURE, *([0] * 12))
        width, height, pixelformat, _field, bytesperline, sizeimage = values[1:7]
        return dict(width=width, height=height, fourcc=fourcc(pixelformat), bytesperline=bytesperline,
                    sizeimage=sizeimage)

    def control_id(self, name):
        """The id of the control called `name` (vivid's private ones included), or None."""
        ctrl_id = CTRL_FLAG_NEXT_CTRL
        while True:
            try:
                values = _ioctl(self.fd, VIDIOC_QUERYCTRL, QUERYCTRL, ctrl_id, 0, b"", 0, 0, 0, 0, 0, 0, 0)
            except OSError as e:
                if e.errno == errno.EINVAL:
                    return None
                raise
            if values[2].split(b"\0", 1)[0].decode() == name:
                return values[0]
            ctrl_id = values[0] | CTRL_FLAG_NEXT_CTRL

    def set_control(self, ctrl_id, value):
        _ioctl(self.fd, VIDIOC_S_CTRL, CONTROL, ctrl_id, value)


def video_nodes():
    """{path: querycap()} of every /dev/video* node."""
    nodes = {}
    for path in sorted(glob.glob("/dev/video*")):
        with VideoNode(path) as node:
            nodes[path] = node.querycap()
    return nodes


def node_caps(cap):
    """The node's own capabilities (device_caps when the driver gives them)."""
    return cap["device_caps"] if cap["capabilities"] & 0x80000000 else cap["capabilities"]


def vivid_capture_node():
    """The path of vivid's video capture node."""
    found = [p for p, c in video_nodes().items()
             if c["driver"] == "vivid" and node_caps(c) & CAP_VIDEO_CAPTURE]
    assert len(found) == 1, f"expected one vivid capture node, found {found}"
    return found[0]


def alsa_cards():
    """{card id (e.g. 'Loopback'): card number} from /proc/asound/cards."""
    cards = {}
    with open("/proc/asound/cards") as f:
        for line in f:
            m = re.match(r"\s*(\d+)\s+\[(\S+)\s*\]:", line)
            if m:
                cards[m.group(2)] = int(m.group(1))
    return cards


def capture_pcms(card):
    """The capture PCM nodes of a card number, e.g. ['/dev/snd/pcmC1D0c']."""
    return sorted(glob.glob(f"/dev/snd/pcmC{card}D*c"))


def udev_properties(node):
    """udev's properties of a device node, as sd-device reads them from /run/udev/data."""
    out = subprocess.run(["udevadm", "info", "--query=property", f"--name={node}"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def unload_module(name):
    """Unplug a test driver's devices by unloading it; udev has seen the removal on return."""
    subprocess.run(["modprobe", "-r", name], check=True)
    subprocess.run(["udevadm", "settle", "--timeout=30"], check=True)


def load_module(name):
    """Load a test driver with the VM's options (modprobe.d); udev has seen its devices on return."""
    subprocess.run(["modprobe", name], check=True)
    subprocess.run(["udevadm", "settle", "--timeout=30"], check=True)


def reload_module(name):
    unload_module(name)
    load_module(name)
