"""User separation on the real system bus: bob cannot act on alice's tracks, and alice's
consent agent is never asked about bob's requests."""

import pytest

from .mgsystem import ACCESS_DENIED, IFACE_TRACK


@pytest.fixture
def alices_track(alice, alice_agent):
    got = alice.ok("gum", constraints={"audio": True})
    assert got["code"] == 0, got
    yield got["results"]["tracks"][0]
    alice.request("stop_tracks")


@pytest.mark.parametrize("member,signature,args", [
    ("Stop", "", []),
    ("SetEnabled", "b", [False]),
    ("Open", "", []),
    ("ApplyConstraints", "a{sv}", [{}]),
])
def test_bob_cannot_touch_alices_track(alice, bob, alices_track, member, signature, args):
    reply = bob.call(IFACE_TRACK, member, signature, *args, path=alices_track)
    # The daemon's refusal, not the bus's: the Track interface is open on the bus.
    assert reply.get("error") == ACCESS_DENIED, reply
    assert not reply.get("message", "").startswith("Rejected send message"), reply
    assert alice.ok("get", path=alices_track, interface=IFACE_TRACK, name="ReadyState") == "live"
    assert alice.ok("get", path=alices_track, interface=IFACE_TRACK, name="Enabled") is True


def test_alices_agent_is_not_asked_about_bobs_requests(alice_agent, bob, agent_of):
    asked_before = len(alice_agent.prompts())
    try:
        # bob has no agent of his own: polkit lets him have a microphone, nobody may say yes.
        got = bob.ok("gum", constraints={"audio": True})
        assert got["code"] != 0 and got["results"]["error"] == "NotAllowedError", got
        assert len(alice_agent.prompts()) == asked_before, alice_agent.prompts()[asked_before:]

        # With his own agent the same request is asked there, and alice's still hears nothing.
        bobs_agent = agent_of("bob")
        got = bob.ok("gum", constraints={"audio": True})
        assert got["code"] == 0, got
        assert [p["uid"] for p in bobs_agent.prompts()] == [bob.uid]
        assert len(alice_agent.prompts()) == asked_before
    finally:
        bob.request("stop_tracks")


def test_bobs_newer_agent_is_not_asked_about_alices_requests(alice, alice_agent, agent_of):
    # The most recently registered agent is asked, but only for its own uid: bob's agent, newer
    # than alice's, must not see her request.
    bobs_agent = agent_of("bob")
    asked_before = len(alice_agent.prompts())
    try:
        got = alice.ok("gum", constraints={"audio": True})
        assert got["code"] == 0, got
        assert [p["uid"] for p in alice_agent.prompts()[asked_before:]] == [alice.uid]
        assert bobs_agent.prompts() == []
    finally:
        alice.request("stop_tracks")
