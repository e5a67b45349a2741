"""The XML in dbus/ is the documentation: it must match what the running daemon
introspects, member for member, signature for signature."""

import xml.etree.ElementTree as ET

import dbus

from conftest import BUS_NAME, OBJECT_PATH, TOP

STANDARD_PREFIX = "org.freedesktop.DBus."


def interfaces_of(xml_text):
    """{interface: {("method", name): (in_sig, out_sig, arg names), ...}} from introspection XML."""
    result = {}
    for iface in ET.fromstring(xml_text).findall("interface"):
        members = {}
        for method in iface.findall("method"):
            args = method.findall("arg")
            ins = [(a.get("name"), a.get("type")) for a in args if a.get("direction", "in") == "in"]
            outs = [(a.get("name"), a.get("type")) for a in args if a.get("direction") == "out"]
            members[("method", method.get("name"))] = (tuple(ins), tuple(outs))
        for sig in iface.findall("signal"):
            members[("signal", sig.get("name"))] = tuple((a.get("name"), a.get("type")) for a in sig.findall("arg"))
        for prop in iface.findall("property"):
            emits = {a.get("name"): a.get("value") for a in prop.findall("annotation")}.get(
                "org.freedesktop.DBus.Property.EmitsChangedSignal", "true")
            members[("property", prop.get("name"))] = (prop.get("type"), prop.get("access"), emits)
        result[iface.get("name")] = members
    return result


def documented_interfaces():
    docs = {}
    for path in sorted((TOP / "dbus").glob("org.mediagate.MediaGate1.*.xml")):
        for name, members in interfaces_of(path.read_text()).items():
            assert name not in docs, f"{name} documented twice"
            docs[name] = (path.name, members)
    return docs


def served_interfaces(bus, path):
    text = dbus.Interface(bus.get_object(BUS_NAME, path), "org.freedesktop.DBus.Introspectable").Introspect()
    return {name: members for name, members in interfaces_of(text).items()
            if not name.startswith(STANDARD_PREFIX)}


def test_every_documented_file_names_its_interface():
    for path in (TOP / "dbus").glob("org.mediagate.MediaGate1.*.xml"):
        names = list(interfaces_of(path.read_text()))
        assert names == [path.name[:-len(".xml")]], f"{path.name} must document exactly its interface"


def test_root_object_matches_the_xml(bus, daemon):
    docs = documented_interfaces()
    served = served_interfaces(bus, OBJECT_PATH)
    assert "org.mediagate.MediaGate1.Manager" in served
    for name, members in served.items():
        assert name in docs, f"{name} is served but has no XML in dbus/"
        doc_file, doc_members = docs[name]
        assert members == doc_members, (
            f"{doc_file} differs from the daemon:\n"
            f"  only in the daemon: {sorted(set(members.items()) - set(doc_members.items()))}\n"
            f"  only in the XML:    {sorted(set(doc_members.items()) - set(members.items()))}")


def test_testing_interface_only_with_test_controls(bus, daemon_factory):
    daemon_factory(test_controls=False).start()
    assert "org.mediagate.MediaGate1.Testing" not in served_interfaces(bus, OBJECT_PATH)
