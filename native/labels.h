// Per-thread labels: each JS thread's LabelReader (label_reader.h), registered from JS on that thread,
// and each thread's table of label sets (id -> the set as JSON) that the drain's reader looks up.
// Never in signal context: the handler reaches a reader only through its thread's ThreadSampler.
#ifndef SFPROF_LABELS_H_
#define SFPROF_LABELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <v8-callbacks.h>

#include "label_reader.h"

namespace v8 {
class Isolate;
}

namespace sfprof {

// The most label sets one thread interns; later new sets are recorded as "no labels".
constexpr size_t kMaxLabelSets = 4096;

// On the isolate's JS thread: the thread's reader, created on the first call with `hooks_word` (the
// word async_hooks write; kept alive by the caller for the thread's life) and linked to the thread's
// current sampler. Later samplers of the thread find it through FindLabelReader.
LabelReader* EnsureLabelReader(v8::Isolate* isolate, int thread_id, const volatile int32_t* hooks_word);
// On the isolate's JS thread, inside `als.run(probe_id, ...)` of the AsyncLocalStorage whose store is
// the label id: learns the CPED layout from the current frame and checks it (the handler's read
// must give probe_id back). False, with the reason, when this runtime or build cannot: the CPED
// mode is then refused on this thread. Once learned, the GC callbacks stay for the thread's life.
bool LearnCpedLabels(v8::Isolate* isolate, int32_t probe_id, std::string* reason);
// On the isolate's JS thread: what the handler records from now on (LabelsMode). kLabelsCped is
// refused (false) unless LearnCpedLabels succeeded on this thread.
bool SetLabelsMode(v8::Isolate* isolate, uint32_t mode);
// On the isolate's JS thread: the handler's read, now (tests and the self-check).
uint32_t ReadLabelsNow(v8::Isolate* isolate);
// Outside signal context, any thread: the reader of `isolate`'s thread, or null.
LabelReader* FindLabelReader(v8::Isolate* isolate);
// Environment teardown, on the isolate's thread, after its sampler is unlinked: removes the GC
// callbacks and frees the reader. The thread's label table stays for the drain.
void ForgetLabelReader(v8::Isolate* isolate);

// Any thread: the labels mode start() asked for (0 auto, 1 hooks, 2 off; -1 none yet), which workers
// follow when they first use labels.
void RequestLabelsMode(int mode);
int RequestedLabelsMode();

// Any thread: the id of a new label set of thread `thread_id` (1, 2, ...), or 0 when the thread has
// kMaxLabelSets already.
uint32_t AddLabelSet(int thread_id, const std::string& json);
// Any thread: the sets of thread `thread_id` from id `from` on, in id order.
void LabelSetsFrom(int thread_id, uint32_t from, std::vector<std::string>* out);

// gc_cause_callbacks.cc: the GC callbacks, with the reader as their data.
void OnLabelsGcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);
void OnLabelsGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);

}  // namespace sfprof

#endif  // SFPROF_LABELS_H_
