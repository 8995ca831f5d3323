// Names C++ frames from the dynamic symbol tables of the loaded objects (Node, libc, addons).
//
// dladdr() scans an object's whole symbol table on every call: ~0.3–4 ms in Node's binary, which
// exports V8's and OpenSSL's symbols. A profile of native code at a high rate asks for thousands of
// addresses, and the lookups became most of what was sampled. This table reads each object's symbols
// once, sorted, and answers by binary search; it also says where the gap around an unnamed address
// ends, so the caller can cache the whole gap.
//
// Not for signal context: it allocates and locks. symbol_table_linux.cc reads the tables;
// symbol_table_darwin.cc (macOS) answers with dladdr() alone.
#ifndef SFPROF_SYMBOL_TABLE_H_
#define SFPROF_SYMBOL_TABLE_H_

#include <cstdint>
#include <string>

namespace sfprof {

struct SymbolAnswer {
  bool found_object = false;
  std::string object;  // the loaded file, as the dynamic loader names it
  std::string symbol;  // mangled; empty when no symbol covers the address
  // The symbol's range, or without a symbol the gap between its neighbours; size 0: unknown.
  uintptr_t start = 0;
  uintptr_t size = 0;
};

// Node's own table is large (~67,000 functions): building its sorted copy costs ~6 ms and ~1.2 MB,
// too much for a process that names a handful of C++ frames. So on Linux the executable's first
// lookups scan its table in the file instead (well under a millisecond each, nothing kept), and only
// a process that keeps asking gets the sorted table. Both give the same answer for every address;
// tests force one way or the other (macOS has one way and ignores it).
enum class SymbolSearch { kAuto, kScanForTests, kTableForTests };

SymbolAnswer LookupSymbol(uintptr_t address, SymbolSearch search = SymbolSearch::kAuto);

}  // namespace sfprof

#endif  // SFPROF_SYMBOL_TABLE_H_
