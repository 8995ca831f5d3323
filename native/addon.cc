// The only file that includes napi.h: argument checks and conversions for start/stop/drain/stats.
// Longer than the ~350 lines other files keep to, on purpose: every conversion to and from JS is
// here, so that nothing else in native/ depends on N-API.
#include <node.h>
#include <napi.h>
#include <cxxabi.h>
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#elif defined(__APPLE__)
#include <pthread.h>
#endif
#include <v8.h>

#include <cstdlib>
#include <initializer_list>

#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "code_events.h"
#include "labels.h"
#include "other_threads.h"
#include "session.h"
#include "symbol_table.h"
#include "wire_format.h"

namespace sfprof {
namespace {

v8::Isolate* CurrentIsolate() { return v8::Isolate::GetCurrent(); }

uint64_t RequireUint(const Napi::Object& options, const char* key, uint64_t min, uint64_t max,
                     bool* ok) {
  Napi::Env env = options.Env();
  Napi::Value value = options.Get(key);
  if (!value.IsNumber()) {
    Napi::TypeError::New(env, std::string("sfprof: native option '") + key + "' must be a number")
        .ThrowAsJavaScriptException();
    *ok = false;
    return 0;
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max))) {
    Napi::RangeError::New(env, std::string("sfprof: native option '") + key + "' out of range")
        .ThrowAsJavaScriptException();
    *ok = false;
    return 0;
  }
  return static_cast<uint64_t>(number);
}

// The drain's float64 records as wire_format.h's JS layout: `samples` with each frame an index into
// `addresses`, the drain's distinct addresses in the order first seen.
void EncodeSamples(Napi::Env env, const DrainedThread& drained, Napi::Object batch) {
  const std::vector<double>& records = drained.records;
  size_t record_count = 0;
  for (size_t at = 0; at + wire::kRecordHeaderWords <= records.size(); ++record_count) {
    at += wire::kRecordHeaderWords + static_cast<size_t>(records[at + wire::kRecordFrameCount]);
  }
  Napi::Uint32Array samples = Napi::Uint32Array::New(env, records.size() + 2 * record_count);
  std::vector<double> table;
  std::unordered_map<uint64_t, uint32_t> index;
  uint32_t* out = samples.Data();
  auto split = [&out](size_t low, size_t high, double value) {
    const uint64_t word = static_cast<uint64_t>(value);
    out[low] = static_cast<uint32_t>(word);
    out[high] = static_cast<uint32_t>(word >> 32);
  };
  for (size_t at = 0; at + wire::kRecordHeaderWords <= records.size();) {
    const double* record = records.data() + at;
    const size_t frames = static_cast<size_t>(record[wire::kRecordFrameCount]);
    split(wire::kSampleTimeLow, wire::kSampleTimeHigh, record[wire::kRecordTimeNs]);
    split(wire::kSampleCodeSeqLow, wire::kSampleCodeSeqHigh, record[wire::kRecordCodeSeq]);
    out[wire::kSampleVmState] = static_cast<uint32_t>(record[wire::kRecordVmState]);
    out[wire::kSampleFlags] = static_cast<uint32_t>(record[wire::kRecordFlags]);
    out[wire::kSampleWeightUs] = static_cast<uint32_t>(record[wire::kRecordWeightUs]);
    out[wire::kSampleLabels] = static_cast<uint32_t>(record[wire::kRecordLabels]);
    out[wire::kSampleFrameCount] = static_cast<uint32_t>(frames);
    for (size_t i = 0; i < frames; ++i) {
      const double address = record[wire::kRecordHeaderWords + i];
      auto found = index.emplace(static_cast<uint64_t>(address), static_cast<uint32_t>(table.size()));
      if (found.second) table.push_back(address);
      out[wire::kSampleHeaderWords + i] = found.first->second;
    }
    out += wire::kSampleHeaderWords + frames;
    at += wire::kRecordHeaderWords + frames;
  }
  Napi::Float64Array addresses = Napi::Float64Array::New(env, table.size());
  if (!table.empty()) memcpy(addresses.Data(), table.data(), table.size() * sizeof(double));
  batch.Set("samples", samples);
  batch.Set("addresses", addresses);
}

// Events cross into JS packed as wire_format.h lays them out, not as one object each (setting
// properties through N-API cost ~4 µs per event, and a worker brings thousands).
Napi::Value EncodeEvents(Napi::Env env, const std::vector<CodeEvent>& events) {
  Napi::Float64Array numbers = Napi::Float64Array::New(env, events.size() * wire::kEventWords);
  std::string names;
  size_t position_count = 0;
  for (const CodeEvent& event : events) position_count += event.positions.size();
  Napi::Uint32Array positions = Napi::Uint32Array::New(env, position_count);
  size_t at = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const CodeEvent& event = events[i];
    double* n = numbers.Data() + i * wire::kEventWords;
    n[wire::kEventSeq] = static_cast<double>(event.seq);
    n[wire::kEventType] = static_cast<double>(event.type);
    n[wire::kEventCodeType] = event.code_type;
    n[wire::kEventStart] = static_cast<double>(event.start);
    n[wire::kEventSize] = static_cast<double>(event.size);
    n[wire::kEventNewStart] = static_cast<double>(event.new_start);
    n[wire::kEventScriptId] = event.script_id;
    n[wire::kEventPositionCount] = static_cast<double>(event.positions.size());
    if (event.type == CodeEventType::kAdded || event.type == CodeEventType::kListed) {
      names.append(event.name);
      names.push_back('\0');
    }
    if (!event.positions.empty()) {
      memcpy(positions.Data() + at, event.positions.data(), event.positions.size() * sizeof(uint32_t));
      at += event.positions.size();
    }
  }
  Napi::Object packed = Napi::Object::New(env);
  packed.Set("numbers", numbers);
  packed.Set("names", Napi::String::New(env, names));
  packed.Set("positions", positions);
  return packed;
}

// One batch per sampled thread: its samples, then its code events (every event a drained sample
// refers to was appended before the sample was taken, so it is in the same batch or an earlier one).
// Then the signals that landed on other threads (`settle` after stop: see other_threads.h).
Napi::Value DrainBatch(Napi::Env env, bool settle) {
  std::vector<DrainedThread> drained;
  Session::Get().Drain(&drained);
  Napi::Array threads = Napi::Array::New(env, drained.size());
  for (size_t i = 0; i < drained.size(); ++i) {
    const DrainedThread& thread = drained[i];
    Napi::Object batch = Napi::Object::New(env);
    batch.Set("threadId", Napi::Number::New(env, thread.thread_id));
    if (!thread.name.empty()) batch.Set("name", Napi::String::New(env, thread.name));
    batch.Set("finished", Napi::Boolean::New(env, thread.finished));
    EncodeSamples(env, thread, batch);
    batch.Set("sampleCount", Napi::Number::New(env, static_cast<double>(thread.count)));
    batch.Set("events", EncodeEvents(env, thread.events));
    Napi::Float64Array gc = Napi::Float64Array::New(env, thread.gc.size());
    if (!thread.gc.empty()) memcpy(gc.Data(), thread.gc.data(), thread.gc.size() * sizeof(double));
    batch.Set("gc", gc);
    batch.Set("gcDropped", Napi::Number::New(env, static_cast<double>(thread.gc_dropped)));
    threads.Set(static_cast<uint32_t>(i), batch);
  }
  std::vector<double> other;
  // Not in a forked child: the watcher may have held the other threads' lock at fork.
  if (!Session::Get().forked_child()) DrainOtherThreads(&other, settle);
  Napi::Float64Array other_records = Napi::Float64Array::New(env, other.size());
  if (!other.empty()) memcpy(other_records.Data(), other.data(), other.size() * sizeof(double));
  Napi::Object result = Napi::Object::New(env);
  result.Set("threads", threads);
  result.Set("otherThreads", other_records);
  return result;
}

// The message for people, the code (failure.h) for src/profiler.ts to decide on.
void ThrowFailure(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, "sfprof: " + failure.message);
  error.Set("code", Napi::String::New(env, failure.code));
  error.ThrowAsJavaScriptException();
}

bool IsOwner(const Napi::Env& env) {
  Session& session = Session::Get();
  if (session.owner() != nullptr && session.owner() != CurrentIsolate()) {
    Napi::Error::New(env, "sfprof: the sampler belongs to another thread")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "sfprof: start() expects an options object")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object options = info[0].As<Napi::Object>();
  bool ok = true;
  SamplerOptions sampler_options;
  sampler_options.interval_us = RequireUint(options, "intervalUs", kIntervalUsMin, kIntervalUsMax, &ok);
  if (!ok) return env.Undefined();
  sampler_options.ring_slots = RequireUint(options, "ringSlots", kRingSlotsMin, kRingSlotsMax, &ok);
  if (!ok) return env.Undefined();
  sampler_options.max_frames = RequireUint(options, "maxFrames", kMaxFramesMin, kMaxFramesMax, &ok);
  if (!ok) return env.Undefined();
  sampler_options.allow_v8_profiler = options.Get("allowV8Profiler").ToBoolean().Value();
  Napi::Value engine = options.Get("engine");
  if (engine.IsString()) sampler_options.engine = engine.As<Napi::String>().Utf8Value();
  sampler_options.simulate_perf_failure = options.Get("simulatePerfFailure").ToBoolean().Value();
  sampler_options.gc_cause = options.Get("gcCause").ToBoolean().Value();
  if (!options.Get("stallThresholdUs").IsUndefined()) {
    const uint64_t stall_us = RequireUint(options, "stallThresholdUs", 0, kStallThresholdUsMax, &ok);
    if (!ok) return env.Undefined();
    if (stall_us != 0 && stall_us < kStallThresholdUsMin) {
      Napi::RangeError::New(env, "sfprof: stallThresholdUs out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sampler_options.stall_threshold_us = stall_us;
  }

  Failure failure;
  if (!Session::Get().Start(CurrentIsolate(), sampler_options, &failure)) {
    ThrowFailure(env, failure);
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("engine", Napi::String::New(env, Session::Get().engine_name()));
  return result;
}

Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsOwner(env)) return env.Undefined();
  return DrainBatch(env, /*settle=*/false);
}

// Around the removal of the app's last JS SIGPROF listener: libuv then restores the default
// disposition, and a tick of our timer before the watcher's next look would kill the app.
Napi::Value PauseTimer(const Napi::CallbackInfo& info) {
  if (IsOwner(info.Env())) Session::Get().PauseTimer();
  return info.Env().Undefined();
}

Napi::Value ResumeTimer(const Napi::CallbackInfo& info) {
  if (IsOwner(info.Env())) Session::Get().ResumeTimer();
  return info.Env().Undefined();
}

// Tests only: makes the watcher's handler check skip, as while it runs (test/e2e/signal-setups).
Napi::Value HoldHandlerCheckForTests(const Napi::CallbackInfo& info) {
  Session::Get().HoldHandlerCheckForTests(info.Length() >= 1 && info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// Tests only: makes the watcher leave the rings alone, so they fill (test/e2e/api).
Napi::Value HoldSpillsForTests(const Napi::CallbackInfo& info) {
  Session::Get().HoldSpillsForTests(info.Length() >= 1 && info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Object BuildStats(Napi::Env env) {
  Session& session = Session::Get();
  ProcessCounters& process = GetProcessCounters();
  Napi::Object stats = Napi::Object::New(env);
  auto set = [&](const char* key, double value) { stats.Set(key, Napi::Number::New(env, value)); };
  stats.Set("running", Napi::Boolean::New(env, session.running()));
  stats.Set("engine", Napi::String::New(env, session.engine_name()));
  set("signal", session.signal_number());
  set("afterStop", static_cast<double>(process.after_stop.load()));
  set("intervalUs", static_cast<double>(session.interval_us()));
  set("timerSignals", static_cast<double>(process.timer_signals.load()));
  set("nonJsThread", static_cast<double>(process.non_js_thread.load()));
  set("otherThreadsUnrecorded", static_cast<double>(OtherThreadsUnrecorded()));
  set("forwarded", static_cast<double>(process.forwarded.load()));
  set("foreignIgnored", static_cast<double>(process.foreign_ignored.load()));
  set("handlerReinstalls", static_cast<double>(session.handler_reinstalls()));
  set("handlerDisplaced", static_cast<double>(session.handler_displaced()));
  set("forwardLoops", static_cast<double>(process.forward_loops.load()));
  set("spills", static_cast<double>(session.spills()));
  ThreadTotals totals;
  if (session.Totals(&totals)) {
    set("samplesRecorded", static_cast<double>(totals.samples_recorded));
    set("droppedRingFull", static_cast<double>(totals.dropped_ring_full));
    set("droppedBusy", static_cast<double>(totals.dropped_busy));
    set("droppedQueueFull", static_cast<double>(totals.dropped_queue_full));
    set("signalsCoalesced", static_cast<double>(totals.signals_coalesced));
    set("truncated", static_cast<double>(totals.truncated));
    set("samplesLabelled", static_cast<double>(totals.samples_labelled));
    set("labelReadsTimed", static_cast<double>(totals.label_reads_timed));
    set("labelReadNs", static_cast<double>(totals.label_read_ns));
    set("labelClockNs", static_cast<double>(totals.label_clock_ns));
    set("threads", static_cast<double>(totals.threads));
    set("sampledThreadsCpuNs", totals.thread_cpu_ns);
    Napi::Float64Array histogram = Napi::Float64Array::New(env, kHandlerBuckets);
    double timed = 0;
    for (size_t i = 0; i < kHandlerBuckets; ++i) {
      histogram[i] = totals.handler_time[i];
      timed += totals.handler_time[i];
    }
    stats.Set("handlerTimeHistogram", histogram);
    // The histogram's sum, so the quantiles read only the buckets up to theirs: outside optimized
    // code each of the 8,193 numbers read from it in JS would be a new heap number.
    set("handlerTimeCount", timed);
    set("handlerBucketNs", static_cast<double>(kHandlerBucketNs));
    set("threadCpuNs", ClockNs(CLOCK_THREAD_CPUTIME_ID) - session.thread_cpu_start_ns());
    set("processCpuNs", ClockNs(CLOCK_PROCESS_CPUTIME_ID) - session.process_cpu_start_ns());
    set("elapsedNs", ClockNs(CLOCK_MONOTONIC) - static_cast<double>(session.start_ns()));
  }
  return stats;
}

Napi::Value Stats(const Napi::CallbackInfo& info) { return BuildStats(info.Env()); }

// The stalls that ended since the last call, as [start, end, start, end, ...] on the session's
// clock (ns since start, as sample times), and the last moment the thread was seen in its loop.
Napi::Value TakeStalls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsOwner(env)) return env.Undefined();
  Session& session = Session::Get();
  StallWatch& stall = session.stall();
  const std::vector<EndedStall> ended = stall.TakeEnded();
  const double start = static_cast<double>(session.start_ns());
  auto relative = [&](uint64_t ns) { return ns >= session.start_ns() ? static_cast<double>(ns) - start : 0; };
  Napi::Float64Array spans = Napi::Float64Array::New(env, ended.size() * 2);
  for (size_t i = 0; i < ended.size(); ++i) {
    spans[2 * i] = relative(ended[i].start_ns);
    spans[2 * i + 1] = relative(ended[i].end_ns);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("ended", spans);
  const uint64_t seen = stall.seen_ns();
  result.Set("seenNs", Napi::Number::New(env, seen == 0 ? -1 : relative(seen)));
  result.Set("count", Napi::Number::New(env, static_cast<double>(stall.stalls())));
  result.Set("longestNs", Napi::Number::New(env, static_cast<double>(stall.longest_ns())));
  result.Set("notQueued", Napi::Number::New(env, static_cast<double>(stall.not_queued())));
  result.Set("probesSent", Napi::Number::New(env, static_cast<double>(stall.probes_sent())));
  return result;
}

// Stops sampling and returns the final batches; the rings are freed afterwards.
Napi::Value Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsOwner(env)) return env.Undefined();
  Session& session = Session::Get();
  session.Stop();
  Napi::Object batch = DrainBatch(env, /*settle=*/true).As<Napi::Object>();
  batch.Set("stats", BuildStats(env));
  session.Release();
  return batch;
}

// A worker thread joins the main thread's running session.
Napi::Value AttachThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "sfprof: attachThread(threadId) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Failure failure;
  const int thread_id = info[0].As<Napi::Number>().Int32Value();
  if (!Session::Get().AttachThread(CurrentIsolate(), thread_id, &failure)) ThrowFailure(env, failure);
  return env.Undefined();
}

Napi::Value DetachThread(const Napi::CallbackInfo& info) {
  Session::Get().DetachThread(CurrentIsolate());
  return info.Env().Undefined();
}

Napi::Value NameThread(const Napi::CallbackInfo& info) {
  if (info.Length() >= 1 && info[0].IsString()) {
    Session::Get().NameThread(CurrentIsolate(), info[0].As<Napi::String>().Utf8Value());
  }
  return info.Env().Undefined();
}

Napi::Value SessionRunning(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Session::Get().running());
}

// ---- labels (labels.h), each on the calling thread ----

// labelsInit(threadId, hooksWord: Int32Array): the thread's reader, with the word async_hooks write
// the current id into (the caller keeps it alive for the thread's life).
Napi::Value LabelsInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < 1) {
    Napi::TypeError::New(env, "sfprof: labelsInit(threadId, Int32Array) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t* word = info[1].As<Napi::Int32Array>().Data();
  EnsureLabelReader(CurrentIsolate(), info[0].As<Napi::Number>().Int32Value(), word);
  return env.Undefined();
}

// labelsLearn(probeId), inside als.run(probeId, ...): null when the CPED read works on this thread,
// else why not.
Napi::Value LabelsLearn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "sfprof: labelsLearn(probeId) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string reason;
  if (LearnCpedLabels(CurrentIsolate(), info[0].As<Napi::Number>().Int32Value(), &reason)) return env.Null();
  return Napi::String::New(env, reason);
}

// labelsMode(mode): 0 none, 1 CPED, 2 hooks (LabelsMode); false when refused.
Napi::Value LabelsMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t mode = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  if (mode > kLabelsHooks) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, SetLabelsMode(CurrentIsolate(), mode));
}

// The id the signal handler would record now on this thread.
Napi::Value LabelsReadNow(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ReadLabelsNow(CurrentIsolate()));
}

// labelsRequest([mode]): start()'s labels mode for every thread (0 auto, 1 hooks, 2 off), and the
// one in force (-1: none asked for).
Napi::Value LabelsRequest(const Napi::CallbackInfo& info) {
  if (info.Length() >= 1 && info[0].IsNumber()) RequestLabelsMode(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), RequestedLabelsMode());
}

// labelSetAdd(threadId, json): the set's id in the thread's table, 0 when the table is full.
Napi::Value LabelSetAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) {
    Napi::TypeError::New(env, "sfprof: labelSetAdd(threadId, json) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, AddLabelSet(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value()));
}

// labelSets(threadId, fromId): the thread's sets from that id on, as JSON strings.
Napi::Value LabelSets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "sfprof: labelSets(threadId, fromId) expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<std::string> sets;
  LabelSetsFrom(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Uint32Value(), &sets);
  Napi::Array result = Napi::Array::New(env, sets.size());
  for (size_t i = 0; i < sets.size(); ++i) result.Set(static_cast<uint32_t>(i), Napi::String::New(env, sets[i]));
  return result;
}

// Whether the calling thread is the process's first one, where `node` runs its main thread. Lets the
// preload tell the main thread from a worker without loading node:worker_threads (2-3 ms and 1.5 MB
// at start); false says nothing (an embedder may run Node's main thread elsewhere).
Napi::Value IsInitialThread(const Napi::CallbackInfo& info) {
#if defined(__linux__)
  const bool initial = static_cast<pid_t>(syscall(SYS_gettid)) == getpid();
#elif defined(__APPLE__)
  const bool initial = pthread_main_np() != 0;
#else
  const bool initial = false;
#endif
  return Napi::Boolean::New(info.Env(), initial);
}

// Addresses that need aliasing: V8 reports builtins at their place in the node binary but runs them
// from a remapped copy whose range this returns.
Napi::Value EmbeddedCodeRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const void* start = nullptr;
  size_t length = 0;
  CurrentIsolate()->GetEmbeddedCodeRange(&start, &length);
  Napi::Object range = Napi::Object::New(env);
  range.Set("start", Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(start))));
  range.Set("size", Napi::Number::New(env, static_cast<double>(length)));
  return range;
}

// Names a C++ frame (Node, V8's runtime, libc, an addon) through the dynamic symbol table: V8's walk
// returns such frames between JS frames (API callbacks), and the interrupted pc is often in one.
Napi::Value NativeSymbol(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "sfprof: nativeSymbol(address) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uintptr_t address = static_cast<uintptr_t>(info[0].As<Napi::Number>().DoubleValue());
  // Tests only: "scan" or "table" forces how the executable's table is searched (symbol_table.h).
  SymbolSearch search = SymbolSearch::kAuto;
  if (info.Length() >= 2 && info[1].IsString()) {
    const std::string how = info[1].As<Napi::String>().Utf8Value();
    if (how == "scan") search = SymbolSearch::kScanForTests;
    if (how == "table") search = SymbolSearch::kTableForTests;
  }
  const SymbolAnswer found = LookupSymbol(address, search);
  if (!found.found_object) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  result.Set("object", Napi::String::New(env, found.object));
  if (!found.symbol.empty()) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(found.symbol.c_str(), nullptr, nullptr, &status);
    result.Set("symbol", Napi::String::New(env, status == 0 && demangled ? demangled : found.symbol.c_str()));
    std::free(demangled);
  }
  if (found.start != 0) {
    // With a symbol: its range (size 0: unknown, it covers at least this address). Without one:
    // the gap between symbols that the address lies in, all of it unnamed.
    result.Set("start", Napi::Number::New(env, static_cast<double>(found.start)));
    result.Set("size", Napi::Number::New(env, static_cast<double>(found.size)));
  }
  return result;
}

// Isolates whose environment has our cleanup hook: Node aborts on a duplicate (function, argument)
// pair, and the addon is initialised again whenever it is re-required after a module-cache reset.
std::mutex g_hooked_mutex;
std::set<void*>* g_hooked = new std::set<void*>();  // leaked: hooks may run during teardown

// Environment teardown (worker exit, main isolate disposal): no signal may arrive afterwards.
void CleanupHook(void* isolate) {
  {
    std::lock_guard<std::mutex> lock(g_hooked_mutex);
    g_hooked->erase(isolate);
  }
  Session& session = Session::Get();
  if (session.owner() == isolate) {
    session.Stop();
    session.Release();
  } else {
    // A worker's teardown (its end, or Worker.terminate()): what it sampled stays for the drain.
    session.DetachThread(static_cast<v8::Isolate*>(isolate));
  }
  // After the thread's sampler is unlinked: its label reader and GC callbacks go with the isolate.
  ForgetLabelReader(static_cast<v8::Isolate*>(isolate));
}

// Node's AtExit hooks run newest first when the process exits (process.exit, an uncaught exception)
// and before `node --cpu-prof` stops V8's profiler, which restores the default SIGPROF disposition:
// our timer must be disarmed by then.
void StopAtNodeExit(void* isolate) {
  Session& session = Session::Get();
  if (session.owner() == isolate) session.Stop();
}

// wire_format.h as numbers, so the JS decoders can be checked against the binary they read.
Napi::Object WireFormat(Napi::Env env) {
  auto object = [&](std::initializer_list<std::pair<const char*, size_t>> fields) {
    Napi::Object result = Napi::Object::New(env);
    for (const auto& field : fields) result.Set(field.first, Napi::Number::New(env, static_cast<double>(field.second)));
    return result;
  };
  Napi::Object format = Napi::Object::New(env);
  format.Set("sampleHeaderWords", Napi::Number::New(env, wire::kSampleHeaderWords));
  format.Set("sampleFields", object({{"timeLow", wire::kSampleTimeLow}, {"timeHigh", wire::kSampleTimeHigh},
                                     {"codeSeqLow", wire::kSampleCodeSeqLow}, {"codeSeqHigh", wire::kSampleCodeSeqHigh},
                                     {"vmState", wire::kSampleVmState}, {"flags", wire::kSampleFlags},
                                     {"weightUs", wire::kSampleWeightUs}, {"labels", wire::kSampleLabels},
                                     {"frameCount", wire::kSampleFrameCount}}));
  format.Set("sampleFlags", object({{"truncated", kSampleTruncated}, {"stallProbe", kSampleStallProbe}}));
  format.Set("gcHeaderWords", Napi::Number::New(env, wire::kGcHeaderWords));
  format.Set("gcFields", object({{"kind", wire::kGcKind}, {"gcType", wire::kGcType}, {"timeNs", wire::kGcTimeNs},
                                 {"beginNs", wire::kGcBeginNs}, {"codeSeq", wire::kGcCodeSeq},
                                 {"flags", wire::kGcFlags}, {"frameCount", wire::kGcFrameCount}}));
  format.Set("otherThreadWords", Napi::Number::New(env, wire::kOtherThreadWords));
  format.Set("otherThreadFields", object({{"tid", wire::kOtherThreadTid}, {"pc", wire::kOtherThreadPc}}));
  format.Set("eventWords", Napi::Number::New(env, wire::kEventWords));
  format.Set("eventFields", object({{"seq", wire::kEventSeq}, {"type", wire::kEventType},
                                    {"codeType", wire::kEventCodeType}, {"start", wire::kEventStart},
                                    {"size", wire::kEventSize}, {"newStart", wire::kEventNewStart},
                                    {"scriptId", wire::kEventScriptId}, {"positionCount", wire::kEventPositionCount}}));
  format.Set("eventTypes", object({{"added", static_cast<size_t>(CodeEventType::kAdded)},
                                   {"moved", static_cast<size_t>(CodeEventType::kMoved)},
                                   {"linePositions", static_cast<size_t>(CodeEventType::kLinePositions)},
                                   {"listed", static_cast<size_t>(CodeEventType::kListed)}}));
  return format;
}

// session.h's option bounds, so a test can check that src/options.ts validates with the same ones.
Napi::Object OptionBounds(Napi::Env env) {
  auto range = [&](uint64_t min, uint64_t max) {
    Napi::Object result = Napi::Object::New(env);
    result.Set("min", Napi::Number::New(env, static_cast<double>(min)));
    result.Set("max", Napi::Number::New(env, static_cast<double>(max)));
    return result;
  };
  Napi::Object bounds = Napi::Object::New(env);
  bounds.Set("intervalUs", range(kIntervalUsMin, kIntervalUsMax));
  bounds.Set("ringSlots", range(kRingSlotsMin, kRingSlotsMax));
  bounds.Set("maxFrames", range(kMaxFramesMin, kMaxFramesMax));
  bounds.Set("stallThresholdUs", range(kStallThresholdUsMin, kStallThresholdUsMax));
  return bounds;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("wireFormat", WireFormat(env));
  exports.Set("optionBounds", OptionBounds(env));
  exports.Set("start", Napi::Function::New(env, Start, "start"));
  exports.Set("drain", Napi::Function::New(env, Drain, "drain"));
  exports.Set("stop", Napi::Function::New(env, Stop, "stop"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("takeStalls", Napi::Function::New(env, TakeStalls, "takeStalls"));
  exports.Set("pauseTimer", Napi::Function::New(env, PauseTimer, "pauseTimer"));
  exports.Set("resumeTimer", Napi::Function::New(env, ResumeTimer, "resumeTimer"));
  exports.Set("nativeSymbol", Napi::Function::New(env, NativeSymbol, "nativeSymbol"));
  exports.Set("embeddedCodeRange", Napi::Function::New(env, EmbeddedCodeRange, "embeddedCodeRange"));
  exports.Set("attachThread", Napi::Function::New(env, AttachThread, "attachThread"));
  exports.Set("detachThread", Napi::Function::New(env, DetachThread, "detachThread"));
  exports.Set("nameThread", Napi::Function::New(env, NameThread, "nameThread"));
  exports.Set("sessionRunning", Napi::Function::New(env, SessionRunning, "sessionRunning"));
  exports.Set("isInitialThread", Napi::Function::New(env, IsInitialThread, "isInitialThread"));
  exports.Set("labelsInit", Napi::Function::New(env, LabelsInit, "labelsInit"));
  exports.Set("labelsLearn", Napi::Function::New(env, LabelsLearn, "labelsLearn"));
  exports.Set("labelsMode", Napi::Function::New(env, LabelsMode, "labelsMode"));
  exports.Set("labelsReadNow", Napi::Function::New(env, LabelsReadNow, "labelsReadNow"));
  exports.Set("labelsRequest", Napi::Function::New(env, LabelsRequest, "labelsRequest"));
  exports.Set("labelSetAdd", Napi::Function::New(env, LabelSetAdd, "labelSetAdd"));
  exports.Set("labelSets", Napi::Function::New(env, LabelSets, "labelSets"));
  exports.Set("holdHandlerCheckForTests", Napi::Function::New(env, HoldHandlerCheckForTests, "holdHandlerCheckForTests"));
  exports.Set("holdSpillsForTests", Napi::Function::New(env, HoldSpillsForTests, "holdSpillsForTests"));
  v8::Isolate* isolate = CurrentIsolate();
  bool first_load;
  {
    std::lock_guard<std::mutex> lock(g_hooked_mutex);
    first_load = g_hooked->insert(isolate).second;
  }
  if (first_load) {
    napi_add_env_cleanup_hook(env, CleanupHook, isolate);
    node::Environment* node_env = node::GetCurrentEnvironment(isolate->GetCurrentContext());
    if (node_env != nullptr) node::AtExit(node_env, StopAtNodeExit, isolate);
  }
  return exports;
}

}  // namespace
}  // namespace sfprof

// The Node ABI this binary was built for, as text the loader finds in the file before loading it
// (src/native/binding.ts): the addon uses V8's and Node's C++ API, whose layout changes between
// majors, yet Node-API registration skips Node's own NODE_MODULE_VERSION check, so a binary built for
// another Node would load and misbehave.
#define SFPROF_STRINGIFY_(x) #x
#define SFPROF_STRINGIFY(x) SFPROF_STRINGIFY_(x)
extern "C" __attribute__((used, visibility("hidden"))) const char sfprof_abi_tag[] =
    "sfprof-abi:" SFPROF_STRINGIFY(NODE_MODULE_VERSION) ";";

static Napi::Object InitSfprof(Napi::Env env, Napi::Object exports) {
  return sfprof::Init(env, exports);
}

NODE_API_MODULE(sfprof, InitSfprof)
