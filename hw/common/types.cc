// SPDX-License-Identifier: GPL-2.0-only
#include "hw/common/types.hh"

namespace mmusim {

const char* to_string(AccessKind k)
{
    switch (k) {
    case AccessKind::Read: return "read";
    case AccessKind::Write: return "write";
    case AccessKind::Fetch: return "fetch";
    }
    return "?";
}

const char* to_string(Arch a)
{
    switch (a) {
    case Arch::Arm64: return "arm64";
    case Arch::X86_64: return "x86-64";
    case Arch::RiscV: return "riscv";
    }
    return "?";
}

} // namespace mmusim
