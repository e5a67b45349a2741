"""Audio processing through the daemon: noiseSuppression and autoGainControl as capabilities and
settings (the spec's rules for booleans; echoCancellation honestly [false]), noise pulled down by
10 dB with the tone kept, a quiet tone raised toward a steady level, untouched samples bit for bit
when nothing is asked, two apps with different settings served from one capture, and a 32-bit
microphone's detail below the 16th bit kept by the dither."""

import math
import re
from array import array

import pytest

from mgclient import FRAME, error_of, sv

RATE = 48000
PERIOD = RATE // 100  # the synthetic microphones' 10 ms periods: FRAME sequence k starts at sample k * PERIOD

# The sound of the microphones, as examples/synthetic-devices.conf describes the keys. A tone that
# sounds 300 ms and pauses 300 ms, like speech: a tone that never pauses is a hum to a noise
# suppressor, which (rightly) removes it.
CADENCE_ON_MS, CADENCE_OFF_MS, RAMP_MS = 300, 300, 5
SYNTHETIC = f"""
[noisy-mic]
Kind=microphone
Label=Noisy Microphone
Default=yes
ToneHz=440
ToneLevel=-20
ToneCadence={CADENCE_ON_MS} {CADENCE_OFF_MS}
NoiseLevel=-30.5

[quiet-mic]
Kind=microphone
Label=Quiet Microphone
ToneHz=440
ToneLevel=-40
ToneCadence={CADENCE_ON_MS} {CADENCE_OFF_MS}

[plain-mic]
Kind=microphone
Label=Plain Microphone
ToneHz=1000

[wide-mic]
Kind=microphone
Label=32-bit Microphone
ToneHz=1000
ToneLevel=-100
SampleFormat=S32_LE

[bare-mic]
Kind=microphone
Label=Microphone Without Processing
AutoGainControl=no
NoiseSuppression=no
"""


@pytest.fixture
def env(daemon_factory, polkit, clients, agents):
    class Env:
        pass
    e = Env()
    e.daemon = daemon_factory(synthetic=SYNTHETIC, config="RevealConstraintName=always\n").start()
    e.clients, e.agents = clients, agents
    agents("allow-once")
    return e


def device_id(client, label):
    for dev_id, kind, dev_label, _ in client.manager.EnumerateDevices({}):
        if str(dev_label) == label:
            return str(dev_id)
    raise AssertionError(f"no device {label}")


def open_mic(env, label, constraints):
    """A new client with a track on the microphone labelled `label`: (client, track, stream)."""
    client = env.clients()
    # The first request exposes the devices, after which their ids are known.
    code, results = client.get_user_media({"audio": True})
    assert code == 0, results
    audio = dict(constraints, deviceId={"exact": device_id(client, label)})
    code, results = client.get_user_media({"audio": audio})
    assert code == 0, results
    track = client.track(results["tracks"][0])
    assert track.prop("Label") == label
    return client, track, track.open()


def read_periods(streams, seconds):
    """Read every stream for `seconds` of audio, releasing each slot at once:
    per stream a dict sequence -> samples (array of int16)."""
    got = [dict() for _ in streams]
    need = seconds * 100
    while min(len(g) for g in got) < need:
        for stream, g in zip(streams, got):
            msg, data = stream.next_frame()
            assert msg is not None and msg["type"] == FRAME, msg
            assert msg["dropped"] == 0
            g[msg["sequence"]] = array("h", data)
    return got


def join(periods, first, last):
    """Samples of periods first..last (inclusive) and the index of the first sample."""
    out = array("h")
    for k in range(first, last + 1):
        out.extend(periods[k])
    return out, first * PERIOD


def cadence_pos(n):
    on = CADENCE_ON_MS * RATE // 1000
    period = on + CADENCE_OFF_MS * RATE // 1000
    return n % period, on


def tone_on(n):
    """As test_signal_tone_on(): the tone sounds fully (ramps excluded)."""
    pos, on = cadence_pos(n)
    ramp = RAMP_MS * RATE // 1000
    return ramp <= pos and pos + ramp < on


def tone_off(n, settle_ms=50):
    """In a pause, settle_ms after the tone stopped: a suppressor holds its gate open a little
    after speech ends, so as not to cut off the end of a word."""
    pos, on = cadence_pos(n)
    return pos >= on + settle_ms * RATE // 1000


def analyse(samples, start, hz):
    """(amplitude of the tone fitted where it sounds, RMS in the pauses), full scale 1.0."""
    ss = sc = s2 = c2 = e = 0.0
    k = 0
    w = 2 * math.pi * hz / RATE
    for i, v in enumerate(samples):
        n = start + i
        x = v / 32768.0
        if tone_off(n):
            e += x * x
            k += 1
        elif tone_on(n):
            s, c = math.sin(w * n), math.cos(w * n)
            ss += x * s
            sc += x * c
            s2 += s * s
            c2 += c * c
    return math.hypot(ss / s2, sc / c2), math.sqrt(e / k)


def tone_level_db(samples, start):
    e = 0.0
    k = 0
    for i, v in enumerate(samples):
        if tone_on(start + i):
            e += (v / 32768.0) ** 2
            k += 1
    return 10 * math.log10(e / k)


def db(ratio):
    return 20 * math.log10(ratio)


def test_capabilities_and_settings_follow_the_rules_for_booleans(env):
    client, track, stream = open_mic(env, "Noisy Microphone", {})
    stream.close()
    caps = track.prop("Capabilities")
    assert caps["echoCancellation"] == [False]
    assert caps["autoGainControl"] == [True, False]
    assert caps["noiseSuppression"] == [True, False]
    # Nothing asked: the plain capture.
    s = track.prop("Settings")
    assert (s["echoCancellation"], s["autoGainControl"], s["noiseSuppression"]) == (False, False, False)

    # Bare values are ideals: what can be done is done, echo cancellation cannot (distance 1, kept).
    track.iface.ApplyConstraints(sv({"echoCancellation": True, "autoGainControl": True, "noiseSuppression": True}))
    s = track.prop("Settings")
    assert (s["echoCancellation"], s["autoGainControl"], s["noiseSuppression"]) == (False, True, True)
    # exact false is as good as no processing.
    track.iface.ApplyConstraints(sv({"noiseSuppression": {"exact": False}}))
    assert track.prop("Settings")["noiseSuppression"] is False

    # Required echo cancellation is impossible; the old settings stay.
    with pytest.raises(Exception) as excinfo:
        track.iface.ApplyConstraints(sv({"echoCancellation": {"exact": True}}))
    assert excinfo.value.get_dbus_name().endswith("OverconstrainedError")
    assert "echoCancellation" in str(excinfo.value)
    code, results = client.get_user_media({"audio": {"echoCancellation": {"exact": True}}})
    assert (code, error_of(results)[0], results["constraint"]) == (2, "OverconstrainedError", "echoCancellation")

    # A microphone without the processing offers it as [false]; required, it is not chosen.
    _, bare, bare_stream = open_mic(env, "Microphone Without Processing", {})
    bare_stream.close()
    caps = bare.prop("Capabilities")
    assert (caps["echoCancellation"], caps["autoGainControl"], caps["noiseSuppression"]) == ([False], [False], [False])
    code, results = client.get_user_media(
        {"audio": {"deviceId": device_id(client, "Microphone Without Processing"), "noiseSuppression": {"exact": True}}})
    assert code == 0
    assert client.track(results["tracks"][0]).prop("Label") != "Microphone Without Processing"


def test_two_apps_with_different_settings_share_one_capture(env):
    _, plain_track, plain = open_mic(env, "Noisy Microphone", {})
    _, ns_track, suppressed = open_mic(env, "Noisy Microphone", {"noiseSuppression": True})
    assert ns_track.prop("Settings")["noiseSuppression"] is True
    assert plain_track.prop("Settings")["noiseSuppression"] is False
    raw, processed = read_periods([plain, suppressed], 6)

    # Both from the same periods of one capture; the suppressor had 2 s to learn the noise.
    common = sorted(set(raw) & set(processed))
    first, last = common[0] + 200, common[-1]
    assert last - first >= 300
    x, start = join(raw, first, last)
    y, _ = join(processed, first, last)
    tone_in, noise_in = analyse(x, start, 440)
    tone_out, noise_out = analyse(y, start, 440)
    print(f"noise {db(noise_out / noise_in):+.1f} dB, tone {db(tone_out / tone_in):+.2f} dB "
          f"(in: tone {tone_in:.4f}, noise {noise_in:.4f})")
    assert abs(tone_in - 0.1) < 0.01 and abs(noise_in - 0.03) < 0.005  # the microphone's own sound
    assert db(noise_out / noise_in) <= -10
    assert abs(db(tone_out / tone_in)) < 1
    plain.close()
    suppressed.close()
    started = re.findall(r"Capture on noisy-mic started", env.daemon.output())
    assert len(started) == 1, env.daemon.output()


def test_gain_control_raises_a_quiet_tone_to_a_steady_level(env):
    _, track, stream = open_mic(env, "Quiet Microphone", {"autoGainControl": True})
    assert track.prop("Settings")["autoGainControl"] is True
    (periods,) = read_periods([stream], 9)
    seqs = sorted(periods)
    first = seqs[0]

    def level(from_s, to_s):
        samples, start = join(periods, first + from_s * 100, first + to_s * 100 - 1)
        return tone_level_db(samples, start)

    early, settled, late = level(0, 1), level(5, 7), level(7, 9)
    quiet = 20 * math.log10(0.01 / math.sqrt(2))  # -43 dBFS RMS of a -40 dBFS peak sine
    print(f"input {quiet:.1f} dBFS; output {early:.1f} in the first second, {settled:.1f} at 5-7 s, "
          f"{late:.1f} at 7-9 s")
    assert settled > quiet + 10
    assert settled > early
    assert abs(late - settled) < 1.5
    stream.close()


def test_nothing_asked_is_bit_exact_beside_a_processed_stream(env):
    _, _, processed = open_mic(env, "Plain Microphone", {"noiseSuppression": True, "autoGainControl": True})
    _, track, plain = open_mic(env, "Plain Microphone", {})
    s = track.prop("Settings")
    assert (s["autoGainControl"], s["noiseSuppression"]) == (False, False)
    got, _ = read_periods([plain, processed], 1)
    seqs = sorted(got)
    assert seqs == list(range(seqs[0], seqs[-1] + 1))

    # The synthetic tone, as the device makes it: round(8192 * sin(phase)), the phase advancing
    # by 2 pi f / rate per sample from the start of the capture, wrapped below 2 pi.
    step = 2 * math.pi * 1000 / RATE
    phase = 0.0
    expected = {}
    for n in range((seqs[-1] + 1) * PERIOD):
        if n >= seqs[0] * PERIOD:
            expected[n] = round(math.sin(phase) * 0.25 * 32768)
        phase += step
        if phase >= 2 * math.pi:
            phase -= 2 * math.pi
    for k in seqs:
        samples = got[k]
        assert len(samples) == PERIOD
        assert list(samples) == [expected[k * PERIOD + i] for i in range(PERIOD)], f"period {k}"
    plain.close()
    processed.close()


def test_a_32_bit_microphone_keeps_detail_below_16_bits(env):
    _, track, stream = open_mic(env, "32-bit Microphone", {})
    assert stream.format["sample_format"] == "S16_LE"
    (periods,) = read_periods([stream], 2)
    seqs = sorted(periods)
    samples, start = join(periods, seqs[0], seqs[-1])
    w = 2 * math.pi * 1000 / RATE
    s = sum(v * math.sin(w * (start + i)) for i, v in enumerate(samples))
    c = sum(v * math.cos(w * (start + i)) for i, v in enumerate(samples))
    fitted = 2 * math.hypot(s, c) / len(samples)
    mean = sum(samples) / len(samples)
    amplitude = 32768 * 10 ** (-100 / 20)
    print(f"a {amplitude:.3f}-step tone at -100 dBFS comes out at {fitted:.3f} steps, mean {mean:+.4f}")
    # Rounding alone would give silence, truncation an offset of half a step.
    assert abs(fitted - amplitude) < 0.06
    assert abs(mean) < 0.03
    stream.close()
