// See thread_slot_darwin.h: the keys, and their creation (outside signal context). macOS only; not
// built or run by this project's CI.
#include "thread_slot_darwin.h"

namespace sfprof {

pthread_key_t g_sampler_key;
pthread_key_t g_forwarding_key;
std::atomic<bool> g_slots_created{false};

bool CreateThreadSlots() {
  // Called by Session::Start on the main JS thread only, so never twice at once.
  if (g_slots_created.load(std::memory_order_acquire)) return true;
  // No destructors: the values are a borrowed pointer and a flag.
  if (pthread_key_create(&g_sampler_key, nullptr) != 0) return false;
  if (pthread_key_create(&g_forwarding_key, nullptr) != 0) {
    pthread_key_delete(g_sampler_key);
    return false;
  }
  g_slots_created.store(true, std::memory_order_release);
  return true;
}

}  // namespace sfprof
