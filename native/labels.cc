// See labels.h. Outside signal context: allocates, takes a lock, uses V8's API (on the JS thread).
#include "labels.h"

#include <pthread.h>

#include <map>
#include <memory>

#include <v8.h>

#include "sampler_state.h"

namespace sfprof {
namespace {

struct ThreadLabels {
  v8::Isolate* isolate = nullptr;
  LabelReader reader;
  // What the reader's key_slot and frame_slot point into: GC keeps these slots current.
  v8::Global<v8::Object> key;
  v8::Global<v8::Value> frame;
  bool learned = false;
};

pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
// Leaked: cleanup hooks may run during teardown, after static destructors.
auto* g_readers = new std::map<v8::Isolate*, std::unique_ptr<ThreadLabels>>();
auto* g_tables = new std::map<int, std::vector<std::string>>();
std::atomic<int> g_requested_mode{-1};

class Locked {
 public:
  Locked() { pthread_mutex_lock(&g_mutex); }
  ~Locked() { pthread_mutex_unlock(&g_mutex); }
};

ThreadLabels* Find(v8::Isolate* isolate) {
  auto it = g_readers->find(isolate);
  return it == g_readers->end() ? nullptr : it->second.get();
}

// The slot a Global keeps its object's tagged pointer in (one indirection on every V8 version).
template <typename T>
const uintptr_t* SlotOf(const v8::Global<T>& global) {
  static_assert(sizeof(v8::Global<T>) == sizeof(void*), "a Global is one pointer to its slot");
  return *reinterpret_cast<uintptr_t* const*>(&global);
}

#if SFPROF_LABELS_CPED
v8::Local<v8::Value> CurrentCped(v8::Isolate* isolate) {
#if V8_MAJOR_VERSION >= 14
  return isolate->GetContinuationPreservedEmbedderDataV2().As<v8::Value>();
#else
  return isolate->GetContinuationPreservedEmbedderData();
#endif
}
#endif

// On the reader's thread: back to a reader that has learned nothing, for a new AsyncLocalStorage.
void Unlearn(ThreadLabels* labels) {
  LabelReader& reader = labels->reader;
  reader.mode.store(kLabelsNone, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (labels->learned) {
    labels->isolate->RemoveGCPrologueCallback(OnLabelsGcPrologue, &reader);
    labels->isolate->RemoveGCEpilogueCallback(OnLabelsGcEpilogue, &reader);
  }
  reader.key_slot = nullptr;
  reader.frame_slot = nullptr;
  reader.frame_map.store(0, std::memory_order_relaxed);
  reader.gc_depth.store(0, std::memory_order_relaxed);
  labels->key.Reset();
  labels->frame.Reset();
  labels->learned = false;
}

}  // namespace

LabelReader* EnsureLabelReader(v8::Isolate* isolate, int thread_id, const volatile int32_t* hooks_word) {
  LabelReader* reader;
  {
    Locked lock;
    ThreadLabels* labels = Find(isolate);
    if (labels == nullptr) {
      auto created = std::make_unique<ThreadLabels>();
      created->isolate = isolate;
      created->reader.isolate_address = reinterpret_cast<uintptr_t>(isolate);
      created->reader.hooks_word = hooks_word;
      labels = created.get();
      (*g_readers)[isolate] = std::move(created);
      (*g_tables)[thread_id];
    } else if (labels->reader.hooks_word != hooks_word) {
      // sfprof loaded again on this thread (a module-cache reset): a new AsyncLocalStorage and word,
      // while the old ones may be collected. Nothing of the old ones may stay readable.
      Unlearn(labels);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      labels->reader.hooks_word = hooks_word;
    }
    reader = &labels->reader;
  }
  // Fields first, then the link (the handler reads the reader only through it).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (ThreadSampler* sampler = CurrentThreadSampler()) sampler->labels.store(reader, std::memory_order_relaxed);
  return reader;
}

bool LearnCpedLabels(v8::Isolate* isolate, int32_t probe_id, std::string* reason) {
#if !SFPROF_LABELS_CPED
  (void)isolate;
  (void)probe_id;
  *reason = "this build of V8 has no readable async context slot (V8 12 or later, 64-bit, without pointer compression)";
  return false;
#else
  using namespace label_layout;
  ThreadLabels* labels;
  {
    Locked lock;
    labels = Find(isolate);
  }
  if (labels == nullptr) {
    *reason = "no label reader on this thread";
    return false;
  }
  if (labels->learned) return true;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Value> frame = CurrentCped(isolate);
  // Learn only from a verified frame: a Map holding our store. Whatever else the slot holds
  // (undefined when Node keeps async context elsewhere) must never teach the frame check.
  if (!frame->IsMap()) {
    *reason = "AsyncLocalStorage does not keep its frame in V8's continuation data here";
    return false;
  }
  v8::Local<v8::Map> frame_map = frame.As<v8::Map>();
  v8::Local<v8::Array> entries = frame_map->AsArray();
  v8::Local<v8::Object> key;
  int found = 0;
  for (uint32_t i = 0; i + 1 < entries->Length(); i += 2) {
    v8::Local<v8::Value> k, value;
    if (!entries->Get(context, i).ToLocal(&k) || !entries->Get(context, i + 1).ToLocal(&value)) return false;
    if (value->IsInt32() && value.As<v8::Int32>()->Value() == probe_id && k->IsObject()) {
      key = k.As<v8::Object>();
      found++;
    }
  }
  if (found != 1) {
    *reason = "the async context frame does not hold the probe exactly once";
    return false;
  }
  labels->key.Reset(isolate, key);
  labels->frame.Reset(isolate, frame);
  const uintptr_t raw_frame = *SlotOf(labels->frame);
  const uintptr_t raw_cped = *reinterpret_cast<const uintptr_t*>(reinterpret_cast<uintptr_t>(isolate) + kCpedOffset);
  // A plain Map with one entry: its table has the OrderedHashMap map the frame's table must have.
  v8::Local<v8::Map> plain = v8::Map::New(isolate);
  if (plain->Set(context, key, v8::Integer::New(isolate, probe_id)).IsEmpty()) return false;
  v8::Global<v8::Value> plain_global(isolate, plain);
  const uintptr_t raw_plain = *SlotOf(plain_global);
  bool ok = raw_cped == raw_frame && IsHeapObject(raw_frame) && IsHeapObject(raw_plain);
  uintptr_t table = 0;
  if (ok) {
    table = Field(raw_frame, kJSCollectionTableOffset);
    const uintptr_t plain_table = Field(raw_plain, kJSCollectionTableOffset);
    ok = IsHeapObject(table) && IsHeapObject(plain_table) && Field(table, 0) == Field(plain_table, 0) &&
         Field(raw_plain, 0) != Field(raw_frame, 0) && IsSmi(Element(table, kNumberOfElementsIndex)) &&
         SmiValue(Element(table, kNumberOfElementsIndex)) == static_cast<int64_t>(frame_map->Size());
  }
  if (!ok) {
    labels->key.Reset();
    labels->frame.Reset();
    *reason = "the async context frame's layout is not the one sfprof reads";
    return false;
  }
  LabelReader& reader = labels->reader;
  reader.key_slot = SlotOf(labels->key);
  reader.frame_slot = SlotOf(labels->frame);
  reader.table_map = Field(table, 0);
  reader.frame_map.store(Field(raw_frame, 0), std::memory_order_relaxed);
  // The handler's own read must find the probe.
  if (ReadCpedLabel(&reader) != static_cast<uint32_t>(probe_id)) {
    reader.key_slot = nullptr;
    reader.frame_slot = nullptr;
    reader.frame_map.store(0, std::memory_order_relaxed);
    labels->key.Reset();
    labels->frame.Reset();
    *reason = "the label read did not give the probe back";
    return false;
  }
  isolate->AddGCPrologueCallback(OnLabelsGcPrologue, &reader, v8::kGCTypeAll);
  isolate->AddGCEpilogueCallback(OnLabelsGcEpilogue, &reader, v8::kGCTypeAll);
  labels->learned = true;
  return true;
#endif
}

bool SetLabelsMode(v8::Isolate* isolate, uint32_t mode) {
  ThreadLabels* labels;
  {
    Locked lock;
    labels = Find(isolate);
  }
  if (labels == nullptr) return mode == kLabelsNone;
  if (mode == kLabelsCped && !labels->learned) return false;
  if (mode == kLabelsHooks && labels->reader.hooks_word == nullptr) return false;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  labels->reader.mode.store(mode, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return true;
}

uint32_t ReadLabelsNow(v8::Isolate* isolate) {
  LabelReader* reader = FindLabelReader(isolate);
  if (reader == nullptr) return 0;
  bool read = false;
  return LabelForSample(reader, false, &read);
}

LabelReader* FindLabelReader(v8::Isolate* isolate) {
  Locked lock;
  ThreadLabels* labels = Find(isolate);
  return labels == nullptr ? nullptr : &labels->reader;
}

void ForgetLabelReader(v8::Isolate* isolate) {
  std::unique_ptr<ThreadLabels> labels;
  {
    Locked lock;
    auto it = g_readers->find(isolate);
    if (it == g_readers->end()) return;
    labels = std::move(it->second);
    g_readers->erase(it);
  }
  labels->reader.mode.store(kLabelsNone, std::memory_order_relaxed);
  if (ThreadSampler* sampler = CurrentThreadSampler()) sampler->labels.store(nullptr, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (labels->learned) {
    isolate->RemoveGCPrologueCallback(OnLabelsGcPrologue, &labels->reader);
    isolate->RemoveGCEpilogueCallback(OnLabelsGcEpilogue, &labels->reader);
  }
  labels->key.Reset();
  labels->frame.Reset();
}

void RequestLabelsMode(int mode) { g_requested_mode.store(mode); }
int RequestedLabelsMode() { return g_requested_mode.load(); }

uint32_t AddLabelSet(int thread_id, const std::string& json) {
  Locked lock;
  std::vector<std::string>& table = (*g_tables)[thread_id];
  if (table.size() >= kMaxLabelSets) return 0;
  table.push_back(json);
  return static_cast<uint32_t>(table.size());
}

void LabelSetsFrom(int thread_id, uint32_t from, std::vector<std::string>* out) {
  Locked lock;
  auto it = g_tables->find(thread_id);
  if (it == g_tables->end()) return;
  for (size_t id = from < 1 ? 1 : from; id <= it->second.size(); ++id) out->push_back(it->second[id - 1]);
}

}  // namespace sfprof
