// What crosses from the addon to JS: the sample records of a drain and the packed code events; and
// the float64 sample records the drain and the spills keep before they cross.
// Mirrored by src/native/records.ts (samples, other threads) and src/native/binding.ts (events); the addon reports these numbers
// as its `wireFormat` and test/wire-format.test.mjs checks that the decoders agree with them.
#ifndef SFPROF_WIRE_FORMAT_H_
#define SFPROF_WIRE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "code_events.h"
#include "ring_buffer.h"

namespace sfprof {
namespace wire {

// ---- samples as the drain keeps them (DrainedThread::records, the spills): float64 records ----
//   record := timeNs codeSeq vmState flags weightUs labels frameCount frame*
// timeNs is CLOCK_MONOTONIC since start; codeSeq the code-event sequence visible at capture;
// vmState a v8::StateTag; flags SampleFlags; weightUs the CPU time the sample stands for (0:
// unknown); labels the thread's label-set id (0: none; the set itself is in the thread's label
// table, labels.h); frames are code addresses, leaf first (frame 0 the interrupted pc).
constexpr size_t kRecordTimeNs = 0;
constexpr size_t kRecordCodeSeq = 1;
constexpr size_t kRecordVmState = 2;
constexpr size_t kRecordFlags = 3;
constexpr size_t kRecordWeightUs = 4;
constexpr size_t kRecordLabels = 5;
constexpr size_t kRecordFrameCount = 6;
constexpr size_t kRecordHeaderWords = 7;

// The frame count comes last: a decoder reads it, then exactly that many frames.
static_assert(kRecordFrameCount == kRecordHeaderWords - 1, "frames follow the frame count");
// Every integer a record holds must survive a double: addresses (48-bit user space), sequence
// numbers and nanoseconds (2^53 ns is 104 days), 32-bit header fields.
static_assert(std::numeric_limits<double>::digits >= 53, "records are IEEE doubles");
static_assert(sizeof(void*) <= sizeof(uint64_t), "a frame is one word");
static_assert(sizeof(SampleHeader::vm_state) == 4 && sizeof(SampleHeader::flags) == 4 &&
                  sizeof(SampleHeader::weight_us) == 4 && sizeof(SampleHeader::frame_count) == 4 &&
                  sizeof(SampleHeader::labels) == 4,
              "32-bit header fields are exact in a double");

// ---- samples as they cross to JS: per thread and drain, `samples` (Uint32Array) and `addresses`
// (Float64Array) ----
//   record := timeLow timeHigh codeSeqLow codeSeqHigh vmState flags weightUs labels frameCount frame*
// The same fields as a drain record (64-bit ones split into their low and high 32 bits), but each
// frame is an index into `addresses`, the drain's distinct code addresses. JS reads a uint32 that
// fits a small integer without making a heap number of it, where every float64 it reads outside
// optimized code is one: a drain's samples repeat the same few hundred addresses thousands of times.
constexpr size_t kSampleTimeLow = 0;
constexpr size_t kSampleTimeHigh = 1;
constexpr size_t kSampleCodeSeqLow = 2;
constexpr size_t kSampleCodeSeqHigh = 3;
constexpr size_t kSampleVmState = 4;
constexpr size_t kSampleFlags = 5;
constexpr size_t kSampleWeightUs = 6;
constexpr size_t kSampleLabels = 7;
constexpr size_t kSampleFrameCount = 8;
constexpr size_t kSampleHeaderWords = 9;
static_assert(kSampleFrameCount == kSampleHeaderWords - 1, "frames follow the frame count");
static_assert(kSampleHeaderWords == kRecordHeaderWords + 2, "two fields split in two");

static_assert(kSampleTruncated == 1, "src/records.ts: SAMPLE_TRUNCATED");
static_assert(kSampleStallProbe == 2, "src/records.ts: SAMPLE_STALL_PROBE");

// ---- other threads: one Float64Array per drain, kOtherThreadWords doubles per record ----
//   record := tid pc
// A timer signal that landed on a thread without a sampler (other_thread_ring.h): the thread's kernel
// id and the interrupted pc, in the order the signals were recorded.
constexpr size_t kOtherThreadTid = 0;
constexpr size_t kOtherThreadPc = 1;
constexpr size_t kOtherThreadWords = 2;

// ---- GC causes: one Float64Array per thread and drain, records back to back (gc_cause.h) ----
//   record := kind gcType timeNs beginNs codeSeq flags frameCount frame*
// kind 1 (a GC began: frames the JS stack at its prologue, leaf first, frame 0 the callback's pc) or
// 2 (it ended: no frames); gcType a v8::GCType; timeNs when (CLOCK_MONOTONIC since start, the
// samples' clock); beginNs the begin the record belongs to (an end names its begin by this time);
// codeSeq the code-event sequence visible at the begin (0 on an end); flags SampleFlags (truncated).
constexpr size_t kGcKind = 0;
constexpr size_t kGcType = 1;
constexpr size_t kGcTimeNs = 2;
constexpr size_t kGcBeginNs = 3;
constexpr size_t kGcCodeSeq = 4;
constexpr size_t kGcFlags = 5;
constexpr size_t kGcFrameCount = 6;
constexpr size_t kGcHeaderWords = 7;
static_assert(kGcFrameCount == kGcHeaderWords - 1, "frames follow the frame count");

// ---- code events: `numbers` holds kEventWords doubles per event ----
// `names` holds each added event's name followed by a NUL; `positions` (Uint32Array) holds every
// line-position event's (pc offset, script offset) pairs, kEventPositionCount of them per event.
constexpr size_t kEventSeq = 0;
constexpr size_t kEventType = 1;           // CodeEventType
constexpr size_t kEventCodeType = 2;       // 0 bytecode, 1 JIT, 2 wasm
constexpr size_t kEventStart = 3;
constexpr size_t kEventSize = 4;
constexpr size_t kEventNewStart = 5;       // moves
constexpr size_t kEventScriptId = 6;       // adds
constexpr size_t kEventPositionCount = 7;  // line positions: uint32 words in `positions`
constexpr size_t kEventWords = 8;

static_assert(kEventPositionCount + 1 == kEventWords, "every event field has a word");
static_assert(static_cast<int>(CodeEventType::kAdded) == 0 && static_cast<int>(CodeEventType::kMoved) == 1 &&
                  static_cast<int>(CodeEventType::kLinePositions) == 2 &&
                  static_cast<int>(CodeEventType::kListed) == 3,
              "src/native.ts: event types 0 added, 1 moved, 2 line positions, 3 listed (an add)");
static_assert(sizeof(CodeEvent::positions[0]) == sizeof(uint32_t), "positions cross as a Uint32Array");

}  // namespace wire
}  // namespace sfprof

#endif  // SFPROF_WIRE_FORMAT_H_
