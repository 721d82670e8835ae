// SPDX-License-Identifier: GPL-2.0-only
// Built only in AddressSanitizer builds (cmake -DMMUSIM_SANITIZE=address). Debian's libsystemc 2.3.4 tells
// ASan about its coroutine switches through weak references to __sanitizer_start_switch_fiber and
// __sanitizer_finish_switch_fiber, but it announces a switch back to the main coroutine with no stack (a null
// bottom and size 0: SystemC never learns the main stack's bounds). ASan then keeps the last coroutine's
// bounds for the main stack, ignores every later __asan_handle_no_return ("stack type: default ... size:
// negative") and reports false stack errors after the first exception. These definitions come before
// libasan's in symbol lookup, so libsystemc's calls land here; they supply the main thread's real stack and
// forward to ASan's own implementation. docs/ARCHITECTURE.md, "Sanitizer builds", tells the whole story.
#include <dlfcn.h>
#include <pthread.h>

#include <cstddef>

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

} // namespace

extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size)
{
    static const StartFn next = next_definition<StartFn>("__sanitizer_start_switch_fiber");
    if (bottom == nullptr && size == 0) { // a switch back to SystemC's main coroutine
        static const MainStack main_stack;
        bottom = main_stack.bottom;
        size = main_stack.size;
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

// What SystemC's kernel allocates for a process that never ends (Core::run parks: see there), including the
// event or-list of a wait that an error's sc_stop() left unfinished.
extern "C" const char* __lsan_default_suppressions()
{
    return "leak:sc_core::sc_simcontext::init\n"
           "leak:sc_core::sc_process_b::delete_process\n"
           "leak:sc_core::sc_prim_channel_registry::sc_prim_channel_registry\n"
           "leak:sc_core::sc_ppq_base::sc_ppq_base\n"
           "leak:sc_core::sc_phash_base::sc_phash_base\n"
           "leak:sc_core::sc_event::operator|\n";
}
