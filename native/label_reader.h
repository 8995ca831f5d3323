// The label-set id of the current async context, read by the signal handler (labels.h registers a
// thread's reader; docs/usage.md "Labels" says what users see).
//
// Contract:
// - One LabelReader per JS thread that used labels, reached by the handler through that thread's
//   ThreadSampler (`labels`), only on that thread. The GC callbacks below run on the same thread. So
//   every writer and the one reader share a thread: relaxed atomics and signal fences order them.
// - Two ways to read, by `mode`:
//   kLabelsHooks  one load of a word async_hooks keep up to date from JS (an ArrayBuffer's backing
//                 store, which never moves): safe anywhere, GC included.
//   kLabelsCped   a walk of V8's continuation-preserved embedder data (CPED), where Node 24 and 26
//                 (and 22 with --experimental-async-context-frame) keep the AsyncLocalStorage frame:
//                 CPED slot in the isolate -> AsyncContextFrame (a JSMap) -> its OrderedHashMap table
//                 -> the entry whose key is our AsyncLocalStorage -> a Smi, the id. Plain loads only,
//                 each inside an object whose map word was just checked against a map learned from a
//                 verified frame on the JS thread (ReadCpedLabel). Never while a GC may move objects:
//                 a sample in GC state takes the label the GC prologue read (LabelForSample).
// - Layout (V8 12 to 14, 64-bit, no pointer compression; labels.cc checks it at run time on a real
//   frame before turning this path on): a tagged word is 8 bytes; a heap object pointer has tag 01,
//   a Smi a clear low bit and its 32-bit value in the upper half. Map word at +0; JSMap's table at
//   +24 (after map, properties, elements); a FixedArray has its Smi length at +8 and element i at
//   +16 + 8i. An OrderedHashMap is a FixedArray: [0] elements, [1] deleted, [2] buckets (Smis), then
//   the bucket heads, then entries of three words (key, value, chain). An obsolete table holds a
//   heap pointer in [0], which fails the Smi check.
// Included by signal_handler.cc and gc_cause_callbacks.cc: held to the signal-context rule.
#ifndef SFPROF_LABEL_READER_H_
#define SFPROF_LABEL_READER_H_

#include <atomic>
#include <cstdint>

#include <v8-internal.h>
#include <v8-version.h>

namespace sfprof {

// The CPED path needs the slot's published offset (V8 12 on) and the layout above: 64-bit, without
// pointer compression (official Node builds; Electron and custom builds differ: hooks or nothing).
#if V8_MAJOR_VERSION >= 12 && !defined(V8_COMPRESS_POINTERS) && defined(__LP64__)
#define SFPROF_LABELS_CPED 1
#else
#define SFPROF_LABELS_CPED 0
#endif

enum LabelsMode : uint32_t {
  kLabelsNone = 0,   // not recorded: samples carry 0
  kLabelsCped = 1,
  kLabelsHooks = 2,
};

struct LabelReader {
  // ---- immutable while the reader is reachable from a sampler (set by labels.cc before) ----
  uintptr_t isolate_address = 0;
  // Our AsyncLocalStorage and a verified frame: their v8::Global's slots, which GC updates when the
  // objects move. Null until the CPED path was verified.
  const uintptr_t* key_slot = nullptr;
  const uintptr_t* frame_slot = nullptr;
  // The OrderedHashMap map: a read-only root, never moves.
  uintptr_t table_map = 0;
  // kLabelsHooks: the word async_hooks write the current id into.
  const volatile int32_t* hooks_word = nullptr;

  // ---- written by the owner thread outside signal context ----
  std::atomic<uint32_t> mode{kLabelsNone};

  // ---- written by the GC callbacks (owner thread), read by the handler on that thread ----
  std::atomic<uintptr_t> frame_map{0};  // re-read after every GC: maps can be compacted
  std::atomic<int32_t> gc_depth{0};     // GCs between prologue and epilogue
  std::atomic<uint32_t> gc_label{0};    // the label the outermost prologue read

  // ---- the handler's own (one thread) ----
  uint32_t last_label = 0;  // the last label read outside GC
};

namespace label_layout {
constexpr uintptr_t kTagMask = 3;
constexpr uintptr_t kHeapObjectTag = 1;
constexpr int kTaggedSize = 8;
constexpr int kJSCollectionTableOffset = 3 * kTaggedSize;
constexpr int kFixedArrayLengthOffset = kTaggedSize;
constexpr int kFixedArrayHeaderSize = 2 * kTaggedSize;
constexpr int64_t kNumberOfElementsIndex = 0;
constexpr int64_t kNumberOfDeletedIndex = 1;
constexpr int64_t kNumberOfBucketsIndex = 2;
constexpr int64_t kHashTableStartIndex = 3;
constexpr int64_t kEntrySize = 3;  // key, value, chain
constexpr int64_t kValueOffset = 1;
// A frame holds one entry per AsyncLocalStorage in use: more means it is not what we think.
constexpr int64_t kMaxEntries = 256;
#if SFPROF_LABELS_CPED
constexpr int kCpedOffset = v8::internal::Internals::kContinuationPreservedEmbedderDataOffset;
static_assert(v8::internal::kApiTaggedSize == kTaggedSize, "tagged fields are 8 bytes");
static_assert(v8::internal::Internals::kJSObjectHeaderSize == kJSCollectionTableOffset, "JSMap table follows the JSObject header");
static_assert(v8::internal::Internals::kFixedArrayHeaderSize == kFixedArrayHeaderSize, "FixedArray header: map, length");
static_assert(v8::internal::kHeapObjectTag == static_cast<int>(kHeapObjectTag), "heap objects are tagged 01");
static_assert(v8::internal::kSmiTagSize + v8::internal::kSmiShiftSize == 32, "a Smi's value is the upper half");
#endif

// Signal-safe: plain loads.
inline bool IsHeapObject(uintptr_t word) { return (word & kTagMask) == kHeapObjectTag; }
inline bool IsSmi(uintptr_t word) { return (word & 1) == 0; }
inline int64_t SmiValue(uintptr_t word) { return static_cast<int64_t>(word) >> 32; }
inline uintptr_t Field(uintptr_t object, int offset) {
  return *reinterpret_cast<const volatile uintptr_t*>(object - kHeapObjectTag + offset);
}
inline uintptr_t Element(uintptr_t array, int64_t index) {
  return Field(array, kFixedArrayHeaderSize + static_cast<int>(index) * kTaggedSize);
}
}  // namespace label_layout

// Signal-safe (plain loads, no calls). The id our AsyncLocalStorage holds in the current frame, or 0
// when anything does not check out. Must not run while a GC may be moving objects.
inline uint32_t ReadCpedLabel(const LabelReader* reader) {
#if SFPROF_LABELS_CPED
  using namespace label_layout;
  if (reader->key_slot == nullptr) return 0;
  // The slot is a GC root written with one aligned store: always a valid tagged value.
  const uintptr_t cped = *reinterpret_cast<const volatile uintptr_t*>(reader->isolate_address + kCpedOffset);
  if (!IsHeapObject(cped)) return 0;
  const uintptr_t frame_map = reader->frame_map.load(std::memory_order_relaxed);
  if (frame_map == 0 || Field(cped, 0) != frame_map) return 0;
  // A JSMap: +24 is inside it. The table it references is live.
  const uintptr_t table = Field(cped, kJSCollectionTableOffset);
  if (!IsHeapObject(table) || Field(table, 0) != reader->table_map) return 0;
  // An OrderedHashMap: its length bounds every index below.
  const uintptr_t length = Field(table, kFixedArrayLengthOffset);
  const uintptr_t elements = Element(table, kNumberOfElementsIndex);
  const uintptr_t deleted = Element(table, kNumberOfDeletedIndex);
  const uintptr_t buckets = Element(table, kNumberOfBucketsIndex);
  if (!IsSmi(length) || !IsSmi(elements) || !IsSmi(deleted) || !IsSmi(buckets)) return 0;
  const int64_t used = SmiValue(elements) + SmiValue(deleted);
  const int64_t bucket_count = SmiValue(buckets);
  if (SmiValue(elements) < 0 || SmiValue(deleted) < 0 || bucket_count < 1 || used > kMaxEntries ||
      kHashTableStartIndex + bucket_count + used * kEntrySize > SmiValue(length)) {
    return 0;
  }
  const uintptr_t key = *reinterpret_cast<const volatile uintptr_t*>(reader->key_slot);
  const int64_t first = kHashTableStartIndex + bucket_count;
  for (int64_t i = 0; i < used; i++) {
    const int64_t index = first + i * kEntrySize;
    if (Element(table, index) != key) continue;
    // `undefined` after an als.run() returned, or anything not a Smi: no label.
    const uintptr_t value = Element(table, index + kValueOffset);
    if (!IsSmi(value)) return 0;
    const int64_t id = SmiValue(value);
    return id > 0 && id <= INT32_MAX ? static_cast<uint32_t>(id) : 0;
  }
  return 0;
#else
  (void)reader;
  return 0;
#endif
}

// Signal-safe: the label of a sample whose walk reported `in_gc_state` (v8::GC). Inside the GC
// callbacks' bracket, the prologue's label; in GC state outside it (just before the prologue or after
// the epilogue), the last label read outside GC; else a fresh read. `*read` says whether it walked.
inline uint32_t LabelForSample(LabelReader* reader, bool in_gc_state, bool* read) {
  *read = false;
  const uint32_t mode = reader->mode.load(std::memory_order_relaxed);
  if (mode == kLabelsHooks) {
    *read = true;
    const int32_t id = reader->hooks_word != nullptr ? *reader->hooks_word : 0;
    return id > 0 ? static_cast<uint32_t>(id) : 0;
  }
  if (mode != kLabelsCped) return 0;
  const int32_t depth = reader->gc_depth.load(std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_acquire);
  if (depth > 0) return reader->gc_label.load(std::memory_order_relaxed);
  if (in_gc_state) return reader->last_label;
  *read = true;
  const uint32_t id = ReadCpedLabel(reader);
  reader->last_label = id;
  return id;
}

}  // namespace sfprof

#endif  // SFPROF_LABEL_READER_H_
