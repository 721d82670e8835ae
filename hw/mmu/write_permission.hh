// SPDX-License-Identifier: GPL-2.0-only
// When a leaf descriptor lets a write complete, per architecture: arm64 "dirty" is writable (AP[2] clear,
// Arm ARM D8.4); x86 (Intel SDM 4.8) and RISC-V need D set before a write completes without a walk.
#pragma once

#include "hw/pgtable/format.hh"

namespace mmusim::hw {

// May this write complete with the descriptor as it is, without a hardware dirty update?
inline bool writable_now(Arch arch, const Descriptor& d) { return arch == Arch::Arm64 ? d.write : d.write && d.dirty; }

// Could a write ever complete (possibly after a hardware dirty update: arm64 DBM clears AP[2])?
inline bool write_permitted(Arch arch, const Descriptor& d) { return d.write || (arch == Arch::Arm64 && d.dbm); }

} // namespace mmusim::hw
