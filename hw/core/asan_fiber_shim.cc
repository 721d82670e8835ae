// SPDX-License-Identifier: GPL-2.0-only
// Built only in AddressSanitizer builds (cmake -DMMUSIM_SANITIZE=address). Debian's libsystemc 2.3.4 tells
// ASan about its coroutine switches through weak references to __sanitizer_start_switch_fiber and
// __sanitizer_finish_switch_fiber, but it announces a switch back to the main coroutine with no stack (a null
// bottom and size 0: SystemC never learns the main stack's bounds). ASan then keeps the last coroutine's
// bounds for the main stack, ignores every later __asan_handle_no_return ("stack type: default ... size:
// negative") and reports false stack errors after the first exception. These definitions come before
// libasan's in symbol lookup, so libsystemc's calls land here; they supply the main thread's real stack and
// forward to ASan's own implementation. The shim also clears the shadow of a coroutine stack when libsystemc
// unmaps it (see munmap below). docs/ARCHITECTURE.md, "Sanitizer builds", tells the whole story.
#include <dlfcn.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <map>
#include <mutex>

namespace {

using StartFn = void (*)(void**, const void*, std::size_t);
using FinishFn = void (*)(void*, const void**, std::size_t*);

template <typename Fn> Fn next_definition(const char* name)
{
    return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

struct MainStack {
    void* bottom = nullptr;
    std::size_t size = 0;
    MainStack()
    {
        // The simulation runs on the process's main thread (SystemC's kernel is single-threaded).
        pthread_attr_t attr;
        if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
            ::pthread_attr_getstack(&attr, &bottom, &size);
            ::pthread_attr_destroy(&attr);
        }
    }
};

// Every coroutine stack a switch has gone to (bottom -> size): the regions whose shadow munmap must clear.
// Only stacks: other unmapped memory is left to ASan as it is.
class CoroutineStacks {
public:
    void seen(const void* bottom, std::size_t size)
    {
        const std::lock_guard lock(mutex_);
        stacks_[bottom] = size;
    }
    // Whether [addr, addr + length) covers a known stack; forgets it.
    bool forget(const void* addr, std::size_t length)
    {
        const std::lock_guard lock(mutex_);
        const auto it = stacks_.find(addr);
        if (it == stacks_.end() || it->second > length)
            return false;
        stacks_.erase(it);
        return true;
    }

private:
    std::mutex mutex_;
    std::map<const void*, std::size_t> stacks_;
};

CoroutineStacks& coroutine_stacks()
{
    // Never destroyed: libraries may unmap memory during exit, after static destructors have run.
    static CoroutineStacks& stacks = *new CoroutineStacks;
    return stacks;
}

} // namespace

extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size)
{
    static const StartFn next = next_definition<StartFn>("__sanitizer_start_switch_fiber");
    if (bottom == nullptr && size == 0) { // a switch back to SystemC's main coroutine
        static const MainStack main_stack;
        bottom = main_stack.bottom;
        size = main_stack.size;
    } else {
        coroutine_stacks().seen(bottom, size);
    }
    if (next)
        next(fake_stack_save, bottom, size);
}

extern "C" void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, std::size_t* size_old)
{
    static const FinishFn next = next_definition<FinishFn>("__sanitizer_finish_switch_fiber");
    if (next)
        next(fake_stack_save, bottom_old, size_old);
}

// GCC 12's libasan does not clear the shadow of memory that is unmapped (later runtimes do, in their munmap
// interceptor). Core threads never return (Core::run parks them), so when a simulation context is destroyed
// libsystemc unmaps coroutine stacks that still hold live frames, their redzones poisoned in the shadow. The
// kernel hands the next simulation's coroutine stacks the same addresses, and its frames then meet those
// stale redzones: false stack-buffer-overflow reports on fresh locals, or a CHECK failure in
// GetStackFrameAccessByAddr when ASan tries to describe a frame that is not there. Clearing the shadow of a
// coroutine stack as libsystemc unmaps it removes the stale state at its source.
extern "C" int munmap(void* addr, std::size_t length)
{
    using MunmapFn = int (*)(void*, std::size_t);
    static const MunmapFn next = next_definition<MunmapFn>("munmap");
    if (coroutine_stacks().forget(addr, length))
        __asan_unpoison_memory_region(addr, length);
    return next(addr, length);
}

// What SystemC's kernel allocates for a process that never ends (Core::run parks: see there). No wait is left
// unfinished with an event or-list: when a core fails, the others are woken and unwound (Core::stop_waiting).
extern "C" const char* __lsan_default_suppressions()
{
    return "leak:sc_core::sc_simcontext::init\n"
           "leak:sc_core::sc_process_b::delete_process\n"
           "leak:sc_core::sc_prim_channel_registry::sc_prim_channel_registry\n"
           "leak:sc_core::sc_ppq_base::sc_ppq_base\n"
           "leak:sc_core::sc_phash_base::sc_phash_base\n";
}
