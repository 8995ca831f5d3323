#include "code_events.h"

#include <v8.h>

#include <map>

namespace sfprof {
namespace {

// Isolate → its log. Looked up and appended to under one mutex, so Unregister cannot free a log
// while an event is being added to it.
std::mutex g_logs_mutex;
std::map<v8::Isolate*, CodeEventLog*>* g_logs = new std::map<v8::Isolate*, CodeEventLog*>();  // leaked: events may arrive during exit

void AppendFor(v8::Isolate* isolate, CodeEvent&& event) {
  std::lock_guard<std::mutex> lock(g_logs_mutex);
  auto found = g_logs->find(isolate);
  if (found != g_logs->end()) found->second->Append(std::move(event));
}

// Positions collected between CODE_START_LINE_INFO_RECORDING and CODE_END_LINE_INFO_RECORDING. V8
// sends the three kinds from one call on one thread (JitLogger::CodeLinePosInfoRecordEvent), so the
// recording in progress is the thread's own. Kept per thread rather than allocated per recording
// and handed through user_data: a start without its end (a recording V8 abandons, a listener
// removed in between) would leak that allocation; here the next start simply begins afresh.
struct PendingPositions {
  std::vector<uint32_t> pairs;
  bool recording = false;
};
thread_local PendingPositions t_pending;

CodeEvent FromV8(const v8::JitCodeEvent* event, CodeEventType type) {
  CodeEvent logged;
  logged.type = type;
  logged.code_type = static_cast<uint8_t>(event->code_type);
  logged.start = reinterpret_cast<uint64_t>(event->code_start);
  logged.size = event->code_len;
  return logged;
}

// Called by V8 on any thread; must not call into V8 except to read the event.
void OnJitCodeEvent(const v8::JitCodeEvent* event) {
  v8::Isolate* isolate = event->isolate;
  switch (event->type) {
    case v8::JitCodeEvent::CODE_ADDED: {
      CodeEvent added = FromV8(event, CodeEventType::kAdded);
      if (!event->script.IsEmpty()) added.script_id = event->script->GetId();
      if (event->name.str != nullptr) added.name.assign(event->name.str, event->name.len);
      AppendFor(isolate, std::move(added));
      break;
    }
    case v8::JitCodeEvent::CODE_MOVED: {
      CodeEvent moved = FromV8(event, CodeEventType::kMoved);
      moved.new_start = reinterpret_cast<uint64_t>(event->new_code_start);
      AppendFor(isolate, std::move(moved));
      break;
    }
    case v8::JitCodeEvent::CODE_START_LINE_INFO_RECORDING:
      t_pending.pairs.clear();
      t_pending.recording = true;
      break;
    case v8::JitCodeEvent::CODE_ADD_LINE_POS_INFO:
      if (t_pending.recording) {
        t_pending.pairs.push_back(static_cast<uint32_t>(event->line_info.offset));
        t_pending.pairs.push_back(static_cast<uint32_t>(event->line_info.pos));
      }
      break;
    case v8::JitCodeEvent::CODE_END_LINE_INFO_RECORDING: {
      if (!t_pending.recording) break;
      t_pending.recording = false;
      CodeEvent positions = FromV8(event, CodeEventType::kLinePositions);
      positions.size = 0;
      positions.positions = std::move(t_pending.pairs);
      t_pending.pairs = std::vector<uint32_t>();
      AppendFor(isolate, std::move(positions));
      break;
    }
    case v8::JitCodeEvent::CODE_REMOVED:
      // V8 does not send these; a later add over the same range evicts the old entry.
      break;
  }
}

}  // namespace

void CodeEventLog::Enable(v8::Isolate* isolate, CodeEventLog* log) {
  {
    std::lock_guard<std::mutex> lock(g_logs_mutex);
    (*g_logs)[isolate] = log;
  }
  isolate->SetJitCodeEventHandler(v8::kJitCodeEventEnumExisting, OnJitCodeEvent);
}

void CodeEventLog::Disable(v8::Isolate* isolate) {
  isolate->SetJitCodeEventHandler(v8::kJitCodeEventDefault, nullptr);
}

void CodeEventLog::Unregister(v8::Isolate* isolate, const CodeEventLog* log) {
  std::lock_guard<std::mutex> lock(g_logs_mutex);
  auto found = g_logs->find(isolate);
  if (found != g_logs->end() && found->second == log) g_logs->erase(found);
}

void CodeEventLog::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
}

void CodeEventLog::Append(CodeEvent&& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  event.seq = seq_.load(std::memory_order_relaxed) + 1;
  events_.push_back(std::move(event));
  // Published after the event is in the log: a sample stamped with this number finds it there.
  seq_.store(events_.back().seq, std::memory_order_release);
}

std::vector<CodeEvent> CodeEventLog::Take() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CodeEvent> taken;
  taken.swap(events_);
  return taken;
}

}  // namespace sfprof
