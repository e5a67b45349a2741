# What both ways of running the VM share (guest-init as PID 1, systemd/guest-run under systemd):
# messages on the console and the test drivers with their options.
# shellcheck shell=bash

say() { echo "mediagate-vm: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Drivers of the tests. vivid: one instance, a webcam input only (discrete frame sizes and
# intervals, like a USB camera), single-planar, with a video capture node and a metadata capture
# node (the V4L2 backend must list the first and skip the second). snd-aloop and snd-dummy: one
# substream per PCM, so that one open() makes a device busy. The options go to modprobe.d so
# that a test that unloads and reloads a driver gets the same ones.
load_test_drivers() {
        local m

        mkdir -p /etc/modprobe.d
        cat >/etc/modprobe.d/mediagate-vm.conf <<'OPTIONS'
options vivid n_devs=1 node_types=0x20001 num_inputs=1 input_types=0x0 multiplanar=1
options snd-aloop index=0 id=Loopback pcm_substreams=1
options snd-dummy index=1 id=Dummy pcm_substreams=1
OPTIONS
        for m in vivid snd-aloop snd-dummy; do
                modprobe "$m" || { say "cannot load $m"; return 1; }
        done
}
