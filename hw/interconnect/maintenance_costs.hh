// SPDX-License-Identifier: GPL-2.0-only
// Cycle costs of TLB maintenance, barriers and IPIs: every one is a platform parameter (configs/platforms/,
// each with its source or the word "estimate").
#pragma once

#include "hw/common/types.hh"
#include "hw/interconnect/broadcast_channel.hh"

namespace mmusim::hw {

struct Arm64Costs {
    Cycles tlbi_issue = 0;          // issuing one broadcast TLBI ...IS (the DVM message leaves the core)
    Cycles tlbi_local = 0;          // one local TLBI (non-IS form), including its own TLB search
    BroadcastCosts dvm;             // the DVM message's way through the interconnect (broadcast_channel.hh)
    Cycles dsb_ish_base = 0;        // DSB ISH with nothing outstanding; with TLBIs outstanding it also waits
                                    // for their completion
    Cycles dsb_ishst = 0;           // DSB ISHST (store drain before TLBI)
    Cycles dsb_nsh = 0;             // DSB NSH (completes local TLBIs)
    Cycles dmb = 0;                 // DMB ISH / smp_mb
    Cycles isb = 0;
};

struct X86Costs {
    Cycles invlpg = 0;
    Cycles cr3_write = 0;           // MOV CR3 that flushes the PCID's non-global entries
    Cycles cr3_write_noflush = 0;   // MOV CR3 with bit 63 set
    Cycles invpcid = 0;
    Cycles invlpgb = 0;             // AMD INVLPGB issue (the broadcast message leaves the core)
    BroadcastCosts invlpgb_fabric;  // its way through the fabric to every core (broadcast_channel.hh); TLBSYNC
                                    // sends the completion message (`sync`) and waits for its acknowledgements
    Cycles mfence = 0;
};

struct RiscvCosts {
    Cycles sfence_vma = 0;
    Cycles fence = 0;
};

struct IpiCosts {
    Cycles send_base = 0;        // initiator: program the interrupt controller
    Cycles send_per_target = 0;  // initiator: per destination core
    Cycles delivery = 0;         // interrupt latency until the handler runs on a target
    Cycles handler_entry = 0;    // target: interrupt entry/exit around the handler
    Cycles ack = 0;              // initiator: seeing the last acknowledgement
};

struct MaintenanceCosts {
    Arm64Costs arm64;
    X86Costs x86;
    RiscvCosts riscv;
    IpiCosts ipi;
};

} // namespace mmusim::hw
