// V8 code events (code added, moved, line positions), kept in one ordered, sequence-stamped log.
//
// Why a log and not a map: under GC compaction code moves while samples wait in the ring, so an
// address must be resolved against the code layout of the moment it was sampled. Each sample carries
// the sequence number current when it was taken; the drain replays events up to it, then resolves.
// V8 calls the listener from any thread (82% of moves arrive on GC helper threads), so appends take
// a mutex and never call back into V8 beyond reading the event. There is one log per sampled
// isolate (the main thread's and each worker's); events find theirs through `event->isolate`.
#ifndef SFPROF_CODE_EVENTS_H_
#define SFPROF_CODE_EVENTS_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace v8 {
class Isolate;
}

namespace sfprof {

// kListed: an add from a listing of the code that already existed (ListExisting), not new code.
enum class CodeEventType : uint8_t { kAdded = 0, kMoved = 1, kLinePositions = 2, kListed = 3 };

struct CodeEvent {
  uint64_t seq = 0;
  CodeEventType type = CodeEventType::kAdded;
  uint8_t code_type = 0;     // v8::JitCodeEvent::CodeType: 0 bytecode, 1 JIT, 2 wasm
  uint64_t start = 0;        // code start (old start for a move)
  uint64_t size = 0;
  uint64_t new_start = 0;    // moves only
  int32_t script_id = -1;    // adds only; -1 when V8 gave no script
  std::string name;          // adds only
  std::vector<uint32_t> positions;  // line-position events: (pc offset, script offset) pairs
};

class CodeEventLog {
 public:
  // The isolate's own thread. Registers `log` for `isolate` and installs the listener; with
  // `list_existing`, V8 first replays all existing code as adds.
  static void Enable(v8::Isolate* isolate, CodeEventLog* log, bool list_existing);
  // The isolate's own thread, its listener installed by Enable: V8 replays all existing code now,
  // logged as kListed events after everything logged so far. Listing costs milliseconds (V8 walks
  // its heap and builds every name), so the main thread defers it until a sample needs it; the
  // drain rebuilds the code of earlier moments from the listing and the events logged before it.
  static void ListExisting(v8::Isolate* isolate, CodeEventLog* log);
  // The isolate's own thread. Removes the listener; the log stays registered (late events from GC
  // helper threads still land in it) until Unregister.
  static void Disable(v8::Isolate* isolate);
  // Any thread: after this no event is appended to `log`, which may then be freed. A newer log
  // registered for the same isolate address (a re-attached thread, a reused address) stays.
  static void Unregister(v8::Isolate* isolate, const CodeEventLog* log);

  // Drops further events (the session ended while the isolate still runs); logged ones stay.
  void Close();

  // Moves out everything logged so far.
  std::vector<CodeEvent> Take();

  // Highest sequence number appended; the signal handler stamps samples with it.
  const std::atomic<uint64_t>* sequence() const { return &seq_; }

  void Append(CodeEvent&& event);

 private:
  std::mutex mutex_;
  std::vector<CodeEvent> events_;  // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  bool listing_ = false;           // guarded by mutex_: adds appended now are kListed
  std::atomic<uint64_t> seq_{0};   // written under mutex_, read lock-free by the signal handler
};

}  // namespace sfprof

#endif  // SFPROF_CODE_EVENTS_H_
