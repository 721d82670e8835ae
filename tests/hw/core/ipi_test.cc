// SPDX-License-Identifier: GPL-2.0-only
// Inter-processor interrupts taken by the target core's own thread, on its own timeline.
#include "core_test_util.hh"

#include <gtest/gtest.h>

#include <string>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;

namespace {

hw::CpuMask only(unsigned core)
{
    hw::CpuMask m;
    m.set(core);
    return m;
}

const sc_core::sc_time kBusy(100, sc_core::SC_US); // long enough for every exchange below

} // namespace

TEST(Ipi, TheHandlerRunsInTheTargetsOwnThread)
{
    auto p = make_platform("skylake-sp", 2);
    std::string ran_in;
    run_cores(*p, {[&](Core& c) { c.ipi(only(1), [&](Core&) { ran_in = sc_core::sc_get_current_process_handle().name(); }); },
                   [](Core& c) { c.idle(kBusy); }});
    EXPECT_EQ(ran_in, std::string(p->core(1).name()) + ".run");
}

TEST(Ipi, ATargetAheadInItsQuantumIsInterruptedAtArrival)
{
    // Core 1 has run far ahead (its local time is handed to SystemC in one wait); the interrupt still starts
    // its handler at arrival, and the handler's time is added to core 1's own time.
    auto p = make_platform("skylake-sp", 2);
    const auto& ipi = p->config().costs.ipi;
    const Cycles handler_work = 1000, ahead = 1000000;
    Cycles waited = 0, core1_before = 0;
    run_cores(*p, {[&](Core& c) {
                       c.idle(sc_core::sc_time(1, sc_core::SC_US)); // core 1 is inside its long wait by now
                       const Cycles before = c.cycles(Category::IpiWait);
                       c.ipi(only(1), [&](Core& t) { t.charge(handler_work, Category::Software); });
                       waited = c.cycles(Category::IpiWait) - before;
                   },
                   [&](Core& c) {
                       core1_before = c.now();
                       c.charge(ahead, Category::Software);
                       c.sync_now();
                   }});
    EXPECT_EQ(waited, ipi.delivery + ipi.handler_entry + handler_work + ipi.ack)
        << "the sender does not wait for the target's own work";
    EXPECT_EQ(p->core(1).now() - core1_before, ahead + ipi.handler_entry + handler_work);
}

TEST(Ipi, ATargetTakesInterruptsFromTwoSendersOneAfterTheOther)
{
    auto p = make_platform("skylake-sp", 3);
    const auto& ipi = p->config().costs.ipi;
    const Cycles handler_work = 5000;
    Cycles waited[2] = {0, 0};
    auto sender = [&](unsigned k) {
        return [&, k](Core& c) {
            const Cycles before = c.cycles(Category::IpiWait);
            c.ipi(only(2), [&](Core& t) { t.charge(handler_work, Category::Software); });
            waited[k] = c.cycles(Category::IpiWait) - before;
        };
    };
    run_cores(*p, {sender(0), sender(1), [](Core& c) { c.idle(kBusy); }});
    const Cycles alone = ipi.delivery + ipi.handler_entry + handler_work + ipi.ack;
    EXPECT_EQ(std::min(waited[0], waited[1]), alone);
    EXPECT_EQ(std::max(waited[0], waited[1]), alone + ipi.handler_entry + handler_work)
        << "the second interrupt waits for the first handler";
}

TEST(Ipi, TwoCoresInterruptingEachOtherDoNotDeadlock)
{
    // Each core waits for its acknowledgement with interrupts enabled (as Linux's smp_call_function_many
    // does), so each takes the other's interrupt while it waits.
    auto p = make_platform("skylake-sp", 2);
    int handled[2] = {0, 0};
    auto work = [&](unsigned self) {
        return [&, self](Core& c) { c.ipi(only(1 - self), [&](Core& t) { ++handled[t.id()]; }); };
    };
    run_cores(*p, {work(0), work(1)});
    EXPECT_EQ(handled[0], 1);
    EXPECT_EQ(handled[1], 1);
    EXPECT_TRUE(p->core(0).done());
    EXPECT_TRUE(p->core(1).done());
    EXPECT_GT(p->core(0).cycles(Category::IpiHandler), 0u) << "the handler taken while waiting is charged";
}
