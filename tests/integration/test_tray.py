"""The tray (`mediactl indicator`) through its D-Bus interfaces, as a panel uses them: the
StatusNotifierItem names its com.canonical.dbusmenu menu; the menu lists each app using a device
by its desktop name with "Stop", which ends that app's tracks, and "Pause all", the privacy
switches; a click on an item that has gone does nothing; and `make install` puts the tray's XDG
autostart entry beside the agent's user unit."""

import os
import subprocess
import sys

import dbus
import pytest

from conftest import BUS_NAME, IFACE_MANAGER, MEDIACTL, OBJECT_PATH
from mgclient import Client, run_until, unwrap
from test_mediactl import SYNTHETIC, FakeWatcher, LineReader
from test_packaging import PREFIX, inside, run_make, unit_value

MENU_IFACE = "com.canonical.dbusmenu"
PYTHON = os.path.realpath(sys.executable)


@pytest.fixture
def env(daemon_factory, polkit, agents, tmp_path):
    polkit.SetAllowed(["org.mediagate.camera", "org.mediagate.microphone", "org.mediagate.mute",
                       "org.mediagate.manage"])
    daemon = daemon_factory(synthetic=SYNTHETIC).start()
    data = tmp_path / "share"
    (data / "applications").mkdir(parents=True)
    (data / "applications" / "video-call.desktop").write_text(
        f"[Desktop Entry]\nType=Application\nName=Video_Call\nExec={PYTHON} -m call\n")
    agents("allow-once")
    watcher = FakeWatcher()
    tray = Tray(data)
    assert run_until(lambda: watcher.registered, 10), tray.lines

    class Env:
        pass

    e = Env()
    e.daemon, e.watcher, e.tray = daemon, watcher, tray
    item = watcher.item()
    menu_path = unwrap(item.Get("org.kde.StatusNotifierItem", "Menu", dbus_interface="org.freedesktop.DBus.Properties"))
    e.menu_path = menu_path
    e.menu = dbus.Interface(watcher.bus.get_object(watcher.registered[-1][1], menu_path), MENU_IFACE)
    e.layouts = []
    watcher.bus.add_signal_receiver(lambda revision, parent: e.layouts.append(int(revision)), "LayoutUpdated",
                                    MENU_IFACE, None, menu_path)
    yield e
    tray.stop()
    watcher.close()


class Tray(LineReader):
    """`mediactl indicator` with the test's data directories (its desktop entries)."""

    def __init__(self, data):
        self.proc = subprocess.Popen([str(MEDIACTL), "indicator"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, MEDIAGATE_BUS="session", XDG_DATA_DIRS=str(data)))
        self.lines, self.buffer = [], ""


def layout(menu):
    """The whole menu as (id, properties, [children]) and its revision."""
    revision, root = menu.GetLayout(0, -1, [])

    def walk(node):
        node_id, props, children = node
        return int(node_id), unwrap(props), [walk(c) for c in children]
    return int(revision), walk(root)


def labels(node):
    return [child[1].get("label", child[1].get("type")) for child in node[2]]


def start_video():
    c = Client()
    code, results = c.get_user_media({"video": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    stream = track.open()
    stream.next_frame()
    return c, track, stream


def test_the_item_names_its_menu_and_the_menu_is_dbusmenu(env):
    assert env.menu_path == "/MenuBar"
    props = unwrap(env.menu.GetAll(MENU_IFACE, dbus_interface="org.freedesktop.DBus.Properties"))
    assert (props["Version"], props["TextDirection"], props["Status"]) == (3, "ltr", "normal")
    revision, root = layout(env.menu)
    assert root[0] == 0 and root[1]["children-display"] == "submenu"
    assert labels(root) == ["No app uses the camera or microphone", "separator", "Pause all"]
    nothing, separator, pause = root[2]
    assert nothing[1]["enabled"] is False
    assert (pause[1]["toggle-type"], pause[1]["toggle-state"]) == ("checkmark", 0)
    # Depth 0: the item alone; a chosen property only; an unknown item is an error.
    _, shallow = env.menu.GetLayout(0, 0, [])
    assert list(shallow[2]) == []
    _, only = env.menu.GetLayout(pause[0], 0, ["label"])
    assert unwrap(only[1]) == {"label": "Pause all"}
    assert unwrap(env.menu.GetProperty(pause[0], "toggle-type")) == "checkmark"
    assert unwrap(env.menu.GetGroupProperties([nothing[0], pause[0]], ["label"])) == \
        [[nothing[0], {"label": "No app uses the camera or microphone"}], [pause[0], {"label": "Pause all"}]]
    assert not env.menu.AboutToShow(0)
    with pytest.raises(dbus.DBusException):
        env.menu.GetLayout(4242, -1, [])


def test_an_app_is_listed_by_its_desktop_name_and_stop_ends_its_tracks(env):
    c, track, stream = start_video()
    assert run_until(lambda: len(labels(layout(env.menu)[1])) == 3 and
                     "Video__Call" in labels(layout(env.menu)[1])[0], 10), layout(env.menu)
    assert run_until(lambda: env.layouts, 5), "no LayoutUpdated"
    _, root = layout(env.menu)
    app, separator, pause = root[2]
    # dbusmenu takes "_" for a mnemonic: the name's own underscore is doubled.
    assert app[1] == {"label": "Video__Call: camera (in use)", "children-display": "submenu"}
    stop, = app[2]
    assert stop[1]["label"] == "Stop" and stop[0] != app[0]

    env.menu.Event(stop[0], "clicked", dbus.String("", variant_level=1), 0)
    assert run_until(lambda: track.ended, 5) and track.ended == ["revoked"]
    env.tray.wait_for(lambda line: f"stopping host:{PYTHON}" in line)
    # Once the app is gone from the list, its old Stop is no item any more.
    assert run_until(lambda: labels(layout(env.menu)[1])[0] == "No app uses the camera or microphone", 10)
    with pytest.raises(dbus.DBusException):
        env.menu.Event(stop[0], "clicked", dbus.String("", variant_level=1), 0)
    assert list(env.menu.EventGroup([(stop[0], "clicked", dbus.String("", variant_level=1), dbus.UInt32(0))])) == \
        [stop[0]]
    stream.close()
    c.close()


def test_pause_all_mutes_both_kinds_and_resumes(env):
    bus = dbus.bus.BusConnection(os.environ["DBUS_SESSION_BUS_ADDRESS"])
    manager = bus.get_object(BUS_NAME, OBJECT_PATH)

    def muted():
        return [bool(manager.Get(IFACE_MANAGER, p, dbus_interface="org.freedesktop.DBus.Properties"))
                for p in ("CameraMuted", "MicrophoneMuted")]

    _, root = layout(env.menu)
    pause = root[2][-1]
    env.menu.EventGroup([(pause[0], "clicked", dbus.String("", variant_level=1), dbus.UInt32(0))])
    assert run_until(lambda: muted() == [True, True], 5)
    assert run_until(lambda: layout(env.menu)[1][2][-1][1]["toggle-state"] == 1, 5)
    env.menu.Event(pause[0], "clicked", dbus.String("", variant_level=1), 0)
    assert run_until(lambda: muted() == [False, False], 5)
    assert run_until(lambda: layout(env.menu)[1][2][-1][1]["toggle-state"] == 0, 5)
    # Events other than clicks do nothing.
    env.menu.Event(pause[0], "hovered", dbus.String("", variant_level=1), 0)
    assert muted() == [False, False]
    bus.close()


def test_install_puts_the_autostart_entry_beside_the_agent_unit(tmp_path):
    destdir = tmp_path / "root"
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    entry = inside(destdir, "/etc/xdg/autostart/mediagate-indicator.desktop")
    assert unit_value(entry, "Desktop Entry", "Exec") == f"{PREFIX}/bin/mediactl indicator"
    assert unit_value(entry, "Desktop Entry", "Type") == "Application"
    assert unit_value(entry, "Desktop Entry", "Name[ko]") == "카메라와 마이크 표시기"
    units = list(destdir.rglob("mediagate-agent.service"))
    assert len(units) == 1 and f"ExecStart={PREFIX}/bin/mediactl agent --notifications" in units[0].read_text()
    run_make("uninstall", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    assert not entry.exists()
