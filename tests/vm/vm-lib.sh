# The host side of the VM tier, sourced by vm-run and run-tier: the cached Debian kernel and
# its test-driver modules, the busybox initramfs, the accelerator probe and the qemu command.
# shellcheck shell=bash disable=SC2034  # its variables are for the scripts that source it

vm_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_top=$(cd "$vm_dir/../.." && pwd)
VM_CACHE=${MEDIAGATE_VM_CACHE:-$vm_dir/cache}
VM_MEMORY=${MEDIAGATE_VM_MEMORY:-1024}
# One vCPU on a small host: qemu's own threads (TCG, the 9p server) need the other CPUs.
VM_CPUS=${MEDIAGATE_VM_CPUS:-$(n=$(nproc); [ "$n" -gt 2 ] && echo 2 || echo 1)}
VM_QEMU=${MEDIAGATE_VM_QEMU:-qemu-system-x86_64}

# What the initramfs loads to reach the host's root (9p over virtio) and to write over it
# (overlay), and the drivers the tests use. The cache keeps these and their dependencies only.
VM_BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay"
VM_TEST_MODULES="vivid snd-aloop snd-dummy"

vm_log() { printf 'vm: %s\n' "$*" >&2; }

# The newest linux-image-<abi>-amd64 package that Debian's metapackage points at.
vm_kernel_package() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# Download and unpack the kernel package into $VM_CACHE/<package>_<version>/, keeping the
# kernel image and the modules the VM loads (with modules.dep from depmod), and record it as
# the current kernel. Runs once; later runs use the cache without the network.
vm_fetch_kernel() {
        local pkg version name fetch kroot kver dest m path

        pkg=$(vm_kernel_package)
        if [ -z "$pkg" ]; then
                vm_log "apt has no linux-image-amd64 in its lists, running apt-get update"
                apt-get update -qq >&2 || return 1
                pkg=$(vm_kernel_package)
        fi
        [ -n "$pkg" ] || { vm_log "cannot resolve linux-image-amd64 to a kernel package"; return 1; }
        version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
        name="${pkg}_${version:-unknown}"
        dest="$VM_CACHE/$name"

        if [ ! -e "$dest/.complete" ]; then
                vm_log "fetching $pkg $version (once; cached in $VM_CACHE)"
                fetch=$(mktemp -d "$VM_CACHE/.fetch.XXXXXX") || return 1
                if ! (cd "$fetch" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
                   ! dpkg-deb -x "$fetch"/*.deb "$fetch/root"; then
                        rm -rf "$fetch"
                        vm_log "cannot download or unpack $pkg"
                        return 1
                fi
                # Modules live under /lib/modules in bookworm's package, /usr/lib/modules later.
                kroot="$fetch/root"
                [ -d "$kroot/lib/modules" ] || kroot="$fetch/root/usr"
                kver=$(ls "$kroot/lib/modules" | head -n 1)
                if [ -z "$kver" ] || ! depmod -b "$kroot" "$kver"; then
                        rm -rf "$fetch"
                        vm_log "$pkg has no modules that depmod accepts"
                        return 1
                fi

                rm -rf "$dest"
                mkdir -p "$dest/lib/modules/$kver"
                cp "$fetch"/root/boot/vmlinuz-* "$dest/vmlinuz" || { rm -rf "$fetch"; return 1; }
                vm_extract_vmlinux "$dest/vmlinuz" "$dest/vmlinux"
                cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
                        "$dest/lib/modules/$kver/" 2>/dev/null
                for m in $VM_BOOT_MODULES $VM_TEST_MODULES; do
                        if ! modprobe -d "$kroot" -S "$kver" --show-depends "$m" >"$fetch/deps"; then
                                rm -rf "$fetch"
                                vm_log "$pkg has no module $m"
                                return 1
                        fi
                        while read -r _ path _; do
                                path=${path#"$kroot/lib/modules/$kver/"}
                                mkdir -p "$dest/lib/modules/$kver/$(dirname "$path")"
                                cp "$kroot/lib/modules/$kver/$path" "$dest/lib/modules/$kver/$path"
                        done < <(grep '^insmod ' "$fetch/deps")
                done
                depmod -b "$dest" "$kver" || { rm -rf "$fetch"; return 1; }
                echo "$kver" >"$dest/kver"
                rm -rf "$fetch"
                touch "$dest/.complete"
        fi
        echo "$name" >"$VM_CACHE/current"
}

# The uncompressed kernel inside a bzImage (xz, as Debian builds it), which qemu boots directly
# through its PVH entry: under TCG that saves the three seconds the decompressor takes. Without
# it the bzImage is booted.
vm_extract_vmlinux() {
        /usr/bin/python3 - "$1" "$2" <<'EOF' || rm -f "$2"
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
if start < 0:
    sys.exit(1)
elf = lzma.LZMADecompressor().decompress(data[start:])
if elf[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(elf)
EOF
}

# The initramfs: a static busybox, tests/vm/initramfs-init as /init and the boot modules in
# load order. Rebuilt when any of those change (the name holds their hash).
vm_build_initramfs() {
        local kdir=$1 kver=$2 busybox key out tmp m path list

        busybox=$(command -v busybox) || { vm_log "busybox is missing (busybox-static)"; return 1; }
        if ldd "$busybox" >/dev/null 2>&1; then
                vm_log "$busybox is not static: install busybox-static"
                return 1
        fi
        list=$(for m in $VM_BOOT_MODULES; do
                        modprobe -d "$kdir" -S "$kver" --show-depends "$m" | sed -n 's/^insmod \([^ ]*\).*/\1/p'
                done | awk '!seen[$0]++') || return 1
        key=$( { cat "$vm_dir/initramfs-init"; sha256sum "$busybox"; echo "$list"; } | sha256sum | cut -c1-12)
        out="$VM_CACHE/initramfs-$kver-$key.cpio.gz"
        if [ ! -e "$out" ]; then
                vm_log "building the initramfs for $kver"
                tmp=$(mktemp -d "$VM_CACHE/.initramfs.XXXXXX") || return 1
                mkdir -p "$tmp"/{bin,dev,proc,sys,etc,newroot}
                cp "$busybox" "$tmp/bin/busybox"
                install -m 755 "$vm_dir/initramfs-init" "$tmp/init"
                : >"$tmp/etc/boot-modules"
                for path in $list; do
                        m="/lib/modules/$kver/${path#"$kdir/lib/modules/$kver/"}"
                        mkdir -p "$tmp$(dirname "$m")"
                        cp "$path" "$tmp$m"
                        echo "$m" >>"$tmp/etc/boot-modules"
                done
                if ! (cd "$tmp" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) >"$out.tmp"; then
                        rm -rf "$tmp" "$out.tmp"
                        return 1
                fi
                mv "$out.tmp" "$out"
                rm -rf "$tmp"
                # Older builds for this kernel are of no further use.
                find "$VM_CACHE" -maxdepth 1 -name "initramfs-$kver-*.cpio.gz" ! -name "${out##*/}" -delete
        fi
        VM_INITRD=$out
}

# Make sure the kernel and initramfs are cached; sets VM_KERNEL, VM_INITRD, VM_KVER and
# VM_MODULE_DIR (the guest's /lib/modules/$VM_KVER, a path that the guest sees through 9p).
vm_prepare() {
        local name rc=0

        mkdir -p "$VM_CACHE" || return 1
        # Two runs at once (make check beside a shell) must not build the same files.
        exec {vm_lock_fd}>"$VM_CACHE/.lock"
        flock "$vm_lock_fd"
        name=$(cat "$VM_CACHE/current" 2>/dev/null)
        if [ -z "$name" ] || [ ! -e "$VM_CACHE/$name/.complete" ]; then
                vm_fetch_kernel || rc=1
                name=$(cat "$VM_CACHE/current" 2>/dev/null)
        fi
        if [ $rc -eq 0 ]; then
                VM_KVER=$(cat "$VM_CACHE/$name/kver")
                VM_KERNEL="$VM_CACHE/$name/vmlinuz"
                [ -e "$VM_CACHE/$name/vmlinux" ] && VM_KERNEL="$VM_CACHE/$name/vmlinux"
                VM_MODULE_DIR="$VM_CACHE/$name/lib/modules/$VM_KVER"
                vm_build_initramfs "$VM_CACHE/$name" "$VM_KVER" || rc=1
        fi
        flock -u "$vm_lock_fd"
        exec {vm_lock_fd}>&-
        return $rc
}

# qemu arguments shared by every boot; the accelerator and what to run come on top.
# $1: the host directory shared writable with the guest (mounted at /run/mediagate-vm).
vm_qemu_args() {
        VM_QEMU_ARGS=(
                -nodefaults -no-user-config -display none -no-reboot
                -m "$VM_MEMORY" -smp "$VM_CPUS"
                -kernel "$VM_KERNEL" -initrd "$VM_INITRD"
                -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
                -virtfs "local,path=$1,mount_tag=mgshare,security_model=none,multidevs=remap"
                -virtfs "local,path=$vm_top,mount_tag=checkout,security_model=none,readonly=on,multidevs=remap"
        )
}

# The kernel command line: the serial console, no reboot after a panic (qemu then exits), and no
# speculation mitigations: page-table isolation and retpolines make every system call several
# times dearer under TCG, and this VM runs nothing but our tests. MEDIAGATE_VM_APPEND adds more.
# mediagate.checkout= names the checkout's path, which the guest mounts again at the same place:
# a clone under /tmp or /run would otherwise be hidden by the guest's own tmpfs there.
VM_APPEND="console=ttyS0 panic=-1 loglevel=4 8250.nr_uarts=1 mitigations=off mediagate.checkout=$vm_top ${MEDIAGATE_VM_APPEND:-}"

# Which accelerator boots here: KVM if a probe boot reaches the initramfs within a few seconds,
# else TCG (KVM hangs at boot on some nested hosts). The answer is cached per host kernel, qemu
# and guest kernel; MEDIAGATE_VM_ACCEL=kvm|tcg decides without probing. Sets VM_ACCEL_ARGS.
vm_detect_accel() {
        local choice=${MEDIAGATE_VM_ACCEL:-auto} key file probe share

        case $choice in
        kvm) VM_ACCEL_ARGS=(-accel kvm -cpu host); return 0 ;;
        tcg) VM_ACCEL_ARGS=(-accel tcg); return 0 ;;
        esac
        VM_ACCEL_ARGS=(-accel tcg)
        if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
                return 0
        fi
        key=$( { uname -r; "$VM_QEMU" --version | head -n 1; echo "$VM_KVER"; } | sha256sum | cut -c1-12)
        file="$VM_CACHE/accel-$key"
        if [ ! -e "$file" ]; then
                vm_log "probing KVM (a boot of at most 10 s, once)"
                share=$(mktemp -d) || return 1
                vm_qemu_args "$share"
                probe=$(timeout -k 5 10 "$VM_QEMU" -accel kvm -cpu host "${VM_QEMU_ARGS[@]}" \
                        -serial stdio -monitor none -append "$VM_APPEND mediagate.probe" </dev/null 2>&1)
                rm -rf "$share"
                if grep -q 'mediagate-vm: probe ok' <<<"$probe"; then
                        echo kvm >"$file"
                else
                        echo tcg >"$file"
                fi
        fi
        if [ "$(cat "$file")" = kvm ]; then
                VM_ACCEL_ARGS=(-accel kvm -cpu host)
        fi
}

# Can qemu start at all (binary present and runnable)? A failure here is the only reason the
# tier skips.
vm_qemu_usable() {
        command -v "$VM_QEMU" >/dev/null 2>&1 && "$VM_QEMU" --version >/dev/null 2>&1
}
