#!/bin/sh
# Builds the fake system trees the golden tests read (fingerprint/linux_test.go).
# Each tree mirrors what the kernel and udev show on such a machine: class
# entries are symlinks into /sys/devices, as on a real system. Run it from
# this folder after changing it, then refresh the goldens with
#   go test ./fingerprint -run TestGoldenTrees -update
set -eu
cd "$(dirname "$0")"
rm -rf workstation vm container manynics server

# devlink DIR DEVPATH: the "device" link of a class device points at its
# parent device: two levels up through a net/ or block/ folder, else one.
devlink() {
	case $2 in
	virtual/*) ;;
	*/net/* | */block/*) ln -s ../.. "$1/device" ;;
	*) ln -s .. "$1/device" ;;
	esac
}

# nic TREE NAME DEVPATH ADDRESS [ASSIGN_TYPE] : a network interface.
# DEVPATH under sys/devices; "virtual/net/NAME" makes a virtual one.
nic() {
	t=$1 name=$2 devpath=$3 addr=$4 assign=${5:-0}
	d=$t/sys/devices/$devpath
	mkdir -p "$d" "$t/sys/class/net"
	printf '%s\n' "$addr" >"$d/address"
	[ "$assign" = 0 ] || printf '%s\n' "$assign" >"$d/addr_assign_type"
	printf '1\n' >"$d/type"
	ln -s "../../devices/$devpath" "$t/sys/class/net/$name"
	devlink "$d" "$devpath"
}

# disk TREE NAME DEVPATH MAJ:MIN [REMOVABLE] : a block device.
disk() {
	t=$1 name=$2 devpath=$3 dev=$4 removable=${5:-0}
	d=$t/sys/devices/$devpath
	mkdir -p "$d" "$t/sys/block"
	printf '%s\n' "$dev" >"$d/dev"
	printf '%s\n' "$removable" >"$d/removable"
	ln -s "../devices/$devpath" "$t/sys/block/$name"
	devlink "$d" "$devpath"
}

board() { mkdir -p "$1/sys/class/dmi/id"; printf '%s\n' "$2" >"$1/sys/class/dmi/id/board_serial"; }
udev() { mkdir -p "$1/run/udev/data"; printf 'S:disk/by-id/x\nE:ID_SERIAL=%s\nE:ID_SERIAL_SHORT=%s\nG:systemd\n' "$3" "$3" >"$1/run/udev/data/b$2"; }

# A workstation: two NICs (one a bond member whose permanent address differs
# from the bond's), an NVMe and a SATA disk; virtual interfaces, a USB stick,
# a DVD drive, loop, zram and device-mapper devices to leave out.
t=workstation
nic $t eno1 pci0000:00/0000:00:1f.6/net/eno1 '3c:52:82:5a:0e:11'
nic $t enp3s0 pci0000:00/0000:00:1c.4/0000:03:00.0/net/enp3s0 'a0:36:9f:00:00:01' 3
mkdir -p $t/sys/devices/pci0000:00/0000:00:1c.4/0000:03:00.0/net/enp3s0/bonding_slave
printf 'a0:36:9f:4b:77:e2\n' >$t/sys/devices/pci0000:00/0000:00:1c.4/0000:03:00.0/net/enp3s0/bonding_slave/perm_hwaddr
nic $t lo virtual/net/lo '00:00:00:00:00:00'
nic $t docker0 virtual/net/docker0 '02:42:ac:11:00:01' 3
mkdir -p $t/sys/devices/virtual/net/docker0/bridge
nic $t veth9a1b2c3 virtual/net/veth9a1b2c3 'ae:11:22:33:44:55' 1
nic $t tun0 virtual/net/tun0 '00:00:00:00:00:00'
printf '0x1002\n' >$t/sys/devices/virtual/net/tun0/tun_flags
nic $t bond0 virtual/net/bond0 'a0:36:9f:00:00:01' 3
mkdir -p $t/sys/devices/virtual/net/bond0/bonding
disk $t nvme0n1 pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1 259:0
printf 'S4EWNX0R123456      \n' >$t/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/serial
disk $t sda pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda 8:0
udev $t 8:0 WD-WCC4E1234567
disk $t sdb pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb 8:16 1
udev $t 8:16 4C530001230101104510
disk $t sdc pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block/sdc 8:32 0
udev $t 8:32 USBHDD0000001
disk $t sr0 pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0/block/sr0 11:0 1
disk $t loop0 virtual/block/loop0 7:0
disk $t zram0 virtual/block/zram0 252:0
disk $t dm-0 virtual/block/dm-0 253:0
board $t '/7XYZ123/CN1296377B0042/'

# A virtual machine: a virtio NIC, virtio disks without serials, a placeholder
# board serial.
t=vm
nic $t eth0 pci0000:00/0000:00:03.0/virtio0/net/eth0 '52:54:00:12:34:56'
nic $t lo virtual/net/lo '00:00:00:00:00:00'
disk $t vda pci0000:00/0000:00:05.0/virtio2/block/vda 254:0
disk $t vdb pci0000:00/0000:00:06.0/virtio3/block/vdb 254:16
board $t 'Not Specified'

# A container: only virtual interfaces, loop devices, no DMI.
t=container
nic $t lo virtual/net/lo '00:00:00:00:00:00'
nic $t eth0 virtual/net/eth0 '02:42:ac:11:00:02'
disk $t loop0 virtual/block/loop0 7:0

# A server with bonded NICs and SAS disks whose serial is only in VPD page
# 0x80, plus an NVMe multipath hidden namespace (same controller, left out).
t=server
for i in 0 1; do
	nic $t ens${i}f0 pci0000:17/0000:17:00.$i/net/ens${i}f0 'b4:96:91:00:00:aa' 3
	mkdir -p $t/sys/devices/pci0000:17/0000:17:00.$i/net/ens${i}f0/bonding_slave
	printf 'b4:96:91:7c:11:0%s\n' $i >$t/sys/devices/pci0000:17/0000:17:00.$i/net/ens${i}f0/bonding_slave/perm_hwaddr
done
for i in 0 1; do
	l=$(printf '\x%x' $((97 + i)))
	disk $t sd$l pci0000:3a/0000:3a:00.0/host0/target0:0:$i/0:0:$i:0/block/sd$l 8:$((16 * i))
	printf '\000\200\000\020ZA1B2C3D000000%s\000' $i >$t/sys/devices/pci0000:3a/0000:3a:00.0/host0/target0:0:$i/0:0:$i:0/vpd_pg80
done
disk $t nvme0c0n1 pci0000:5d/0000:5d:00.0/nvme/nvme0/nvme0c0n1 259:1
printf '1\n' >$t/sys/devices/pci0000:5d/0000:5d:00.0/nvme/nvme0/nvme0c0n1/hidden
printf 'PHLJ0000000001P0DGN\n' >$t/sys/devices/pci0000:5d/0000:5d:00.0/nvme/nvme0/serial
board $t 'To be filled by O.E.M.'

# So many NICs (300 SR-IOV functions) that the 5120-byte cap applies.
t=manynics
i=0
while [ $i -lt 300 ]; do
	nic $t ens1f$i pci0000:00/0000:00:02.0/0000:01:00.$i/net/ens1f$i "$(printf '02:00:00:00:%02x:%02x' $((i / 256)) $((i % 256)))"
	i=$((i + 1))
done
disk $t nvme0n1 pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1 259:0
printf 'S4EWNX0R654321\n' >$t/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/serial
board $t 'MB-0042-7731'
