// SPDX-License-Identifier: GPL-2.0-only
// When one core's work throws, the run ends with that error, and every other core's work is unwound rather
// than left suspended mid-operation with live objects on its coroutine stack (which would leak, or hold locks
// and references, once the simulation is gone): Core::stop_waiting.
#include "core_test_util.hh"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;

namespace {

const sc_core::sc_time kLong(1, sc_core::SC_MS);
const sc_core::sc_time kShort(1, sc_core::SC_US);

// Counts its destruction: whether a core's work was unwound.
struct Unwound {
    int& count;
    explicit Unwound(int& c) : count(c) {}
    ~Unwound() { ++count; }
};

hw::CpuMask only(unsigned core)
{
    hw::CpuMask m;
    m.set(core);
    return m;
}

void fail_after(Core& c, sc_core::sc_time t)
{
    c.idle(t);
    throw std::runtime_error("core failed");
}

} // namespace

TEST(CoreFailure, ACoreWaitingForAnEventIsUnwound)
{
    auto p = make_platform("skylake-sp", 2);
    sc_core::sc_event never;
    int unwound = 0;
    bool returned = false;
    EXPECT_THROW(run_cores(*p, {[&](Core& c) { fail_after(c, kShort); },
                                [&](Core& c) {
                                    Unwound guard(unwound);
                                    for (;;)
                                        c.wait_event(never);
                                    returned = true;
                                }}),
                 std::runtime_error);
    EXPECT_EQ(unwound, 1);
    EXPECT_FALSE(returned);
    EXPECT_TRUE(p->core(1).done());
    EXPECT_FALSE(p->core(1).error()) << "only the failing core has an error";
}

TEST(CoreFailure, ACoreInALongTimedWaitIsUnwoundAtTheFailure)
{
    auto p = make_platform("skylake-sp", 2);
    int unwound = 0;
    Cycles stopped_at = 0;
    EXPECT_THROW(run_cores(*p, {[&](Core& c) { fail_after(c, kShort); },
                                [&](Core& c) {
                                    struct Stamp {
                                        Core& c;
                                        Cycles& at;
                                        ~Stamp() { at = c.time(); }
                                    } stamp{c, stopped_at};
                                    Unwound guard(unwound);
                                    c.idle(kLong);
                                }}),
                 std::runtime_error);
    EXPECT_EQ(unwound, 1);
    EXPECT_LT(stopped_at, static_cast<Cycles>(kLong.value() / p->cycle().value()))
        << "the idle core did not wait out its millisecond";
}

TEST(CoreFailure, ASenderWaitingForAFailedHandlerIsUnwound)
{
    auto p = make_platform("skylake-sp", 2);
    int unwound = 0;
    try {
        run_cores(*p, {[&](Core& c) {
                           Unwound guard(unwound);
                           c.ipi(only(1), [](Core&) { throw std::logic_error("handler failed"); });
                       },
                       [](Core& c) { c.idle(kLong); }});
        FAIL() << "the handler's exception was not handed to the caller";
    } catch (const std::logic_error& e) {
        EXPECT_STREQ(e.what(), "handler failed");
    }
    EXPECT_EQ(unwound, 1);
    EXPECT_FALSE(p->core(0).error());
    EXPECT_TRUE(p->core(1).error());
}

TEST(CoreFailure, DestructorsThatTouchMemoryWhileUnwindingDoNotWait)
{
    // A lock guard's release is a store, and a store may sync with simulated time: while the work unwinds,
    // that must neither wait nor throw again (std::terminate).
    auto p = make_platform("skylake-sp", 2);
    int unwound = 0;
    std::uint64_t released = 0;
    const PAddr lock = 0x1000;
    EXPECT_THROW(run_cores(*p, {[&](Core& c) { fail_after(c, kShort); },
                                [&](Core& c) {
                                    struct Release {
                                        Core& c;
                                        PAddr at;
                                        std::uint64_t& done;
                                        ~Release()
                                        {
                                            c.charge(1000000, Category::Software); // due a sync
                                            c.fetch_and(at, 0, 8);                // syncs first (an atomic)
                                            c.sync_now();
                                            ++done;
                                        }
                                    } release{c, lock, released};
                                    Unwound guard(unwound);
                                    c.fetch_or(lock, 1, 8);
                                    c.idle(kLong);
                                }}),
                 std::runtime_error);
    EXPECT_EQ(unwound, 1);
    EXPECT_EQ(released, 1u);
}
