// See symbol_table.h. Linux: each lookup lists the loaded objects again with dl_iterate_phdr (a few
// microseconds), so an object unloaded since its table was read is forgotten before its memory could
// be read; an object's symbols come from its dynamic symbol table, sizes included.
//
// Memory: Node's own table has ~67,000 functions in 1.8 MB of symbols. Read through its mapping,
// every page of it would join the process's RSS for good; the executable's table is read from the
// file instead (the page cache is not ours). Its first kScansBeforeTable lookups scan the file and
// keep nothing; after them each function is kept in 16 bytes, as offsets, sorted. A scan and the
// table agree on every address: both take, of the symbols that cover it, the one with the highest
// (start, size, name offset), and both bound a gap by the same neighbours.
#include "symbol_table.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace sfprof {
namespace {

// Offsets from the object's first byte (objects span far less than 4 GB; a larger one keeps no
// symbols), and the name's offset in its string table.
struct Symbol {
  uint32_t start;
  uint32_t size;
  uint32_t name;
  uint32_t reach;  // the furthest end of this symbol and every one before it
};

// Lookups of the executable answered by scanning its file before its table is built.
constexpr size_t kScansBeforeTable = 8;

struct LoadedObject {
  std::string listed;  // the loader's name for it: empty for the executable
  std::string path;
  uintptr_t bias = 0;
  uintptr_t low = 0;   // first byte of its loaded segments
  uintptr_t high = 0;  // past the last
  const ElfW(Dyn)* dynamic = nullptr;
  const char* strings = nullptr;  // the mapped string table the names are in
  size_t strings_size = 0;
  const ElfW(Sym)* mapped_symbols = nullptr;  // the loaded table, when the file is not read
  size_t count = 0;                           // its entries, from the hash table
  bool usable = false;  // a symbol table and names were found, and offsets fit in 32 bits
  bool read = false;    // `symbols` is built
  size_t scans = 0;
  std::vector<Symbol> symbols;  // code symbols, by (start, size, name)
};

std::mutex g_mutex;
// Leaked on purpose: a lookup may still run while static destructors do.
std::vector<std::unique_ptr<LoadedObject>>* g_objects = new std::vector<std::unique_ptr<LoadedObject>>();

struct Listing {
  std::vector<LoadedObject> objects;
};

int ListObject(struct dl_phdr_info* info, size_t, void* data) {
  LoadedObject object;
  object.bias = info->dlpi_addr;
  object.listed = info->dlpi_name != nullptr ? info->dlpi_name : "";
  uintptr_t low = UINTPTR_MAX;
  uintptr_t high = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type == PT_LOAD) {
      low = std::min<uintptr_t>(low, object.bias + header.p_vaddr);
      high = std::max<uintptr_t>(high, object.bias + header.p_vaddr + header.p_memsz);
    } else if (header.p_type == PT_DYNAMIC) {
      object.dynamic = reinterpret_cast<const ElfW(Dyn)*>(object.bias + header.p_vaddr);
    }
  }
  if (high <= low) return 0;
  object.low = low;
  object.high = high;
  static_cast<Listing*>(data)->objects.push_back(std::move(object));
  return 0;
}

// The dynamic loader relocates most of these entries in place; the vDSO's are left as offsets.
uintptr_t DynamicAddress(const LoadedObject& object, uintptr_t value) {
  return value < object.bias ? value + object.bias : value;
}

size_t SymbolCountFromGnuHash(const uint32_t* table) {
  const uint32_t buckets_count = table[0];
  const uint32_t first_hashed = table[1];
  const uint32_t bloom_words = table[2];
  const auto* bloom = reinterpret_cast<const ElfW(Addr)*>(table + 4);
  const auto* buckets = reinterpret_cast<const uint32_t*>(bloom + bloom_words);
  const uint32_t* chains = buckets + buckets_count;
  uint32_t last = 0;
  for (uint32_t i = 0; i < buckets_count; i++) last = std::max(last, buckets[i]);
  if (last < first_hashed) return first_hashed;
  // The last chain ends at the entry whose low bit is set.
  while ((chains[last - first_hashed] & 1) == 0) last++;
  return static_cast<size_t>(last) + 1;
}

// A code symbol of the table as offsets into the object; false for anything else.
bool CodeSymbol(const LoadedObject& object, const ElfW(Sym)& symbol, Symbol* out) {
  const int type = ELF64_ST_TYPE(symbol.st_info);
  if (type != STT_FUNC && type != STT_GNU_IFUNC) return false;
  if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0 || symbol.st_name >= object.strings_size) return false;
  const uintptr_t start = object.bias + symbol.st_value;
  // Past the loaded bytes nothing can be looked up: both searches leave such a symbol out.
  if (start < object.low || start >= object.high || start - object.low > UINT32_MAX || symbol.st_size > UINT32_MAX) return false;
  *out = {static_cast<uint32_t>(start - object.low), static_cast<uint32_t>(symbol.st_size), symbol.st_name, 0};
  return true;
}

// Where a symbol's cover ends: one of unknown size (0) covers its first byte only, as for dladdr().
uint32_t EndOf(const Symbol& symbol) {
  const uint64_t end = static_cast<uint64_t>(symbol.start) + std::max<uint32_t>(symbol.size, 1);
  return static_cast<uint32_t>(std::min<uint64_t>(end, UINT32_MAX));
}

// The order of the table; among the symbols that cover an address the last in it answers.
bool Before(const Symbol& a, const Symbol& b) {
  if (a.start != b.start) return a.start < b.start;
  if (a.size != b.size) return a.size < b.size;
  return a.name < b.name;
}

// Calls `visit` with each of the executable's dynamic symbols, read from its file in chunks; false
// when that fails (the caller then reads the mapped table).
template <typename Visit>
bool VisitFileSymbols(size_t count, Visit visit) {
  const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool done = false;
  ElfW(Ehdr) header;
  if (pread(fd, &header, sizeof(header), 0) == static_cast<ssize_t>(sizeof(header)) && header.e_ident[EI_MAG0] == ELFMAG0 &&
      header.e_ident[EI_MAG1] == ELFMAG1 && header.e_ident[EI_MAG2] == ELFMAG2 && header.e_ident[EI_MAG3] == ELFMAG3 &&
      header.e_shentsize == sizeof(ElfW(Shdr)) && header.e_shnum > 0) {
    std::vector<ElfW(Shdr)> sections(header.e_shnum);
    const ssize_t wanted = static_cast<ssize_t>(sections.size() * sizeof(ElfW(Shdr)));
    if (pread(fd, sections.data(), static_cast<size_t>(wanted), static_cast<off_t>(header.e_shoff)) == wanted) {
      for (const ElfW(Shdr)& section : sections) {
        if (section.sh_type != SHT_DYNSYM || section.sh_entsize != sizeof(ElfW(Sym))) continue;
        // The file's table must be the one loaded: as many entries as the loaded hash table says.
        const size_t entries = section.sh_size / sizeof(ElfW(Sym));
        if (count != 0 && entries != count) break;
        std::vector<ElfW(Sym)> chunk(4096);
        done = true;
        for (size_t at = 0; at < entries && done;) {
          const size_t n = std::min(chunk.size(), entries - at);
          const ssize_t bytes = static_cast<ssize_t>(n * sizeof(ElfW(Sym)));
          if (pread(fd, chunk.data(), static_cast<size_t>(bytes), static_cast<off_t>(section.sh_offset + at * sizeof(ElfW(Sym)))) != bytes) {
            done = false;
            break;
          }
          for (size_t i = 0; i < n; i++) visit(chunk[i]);
          at += n;
        }
        break;
      }
    }
  }
  close(fd);
  return done;
}

// Finds the object's symbol and string tables; the symbols themselves are read when asked for.
void ReadDynamic(LoadedObject* object) {
  if (object->dynamic == nullptr || object->high - object->low > UINT32_MAX) return;
  for (const ElfW(Dyn)* entry = object->dynamic; entry->d_tag != DT_NULL; entry++) {
    switch (entry->d_tag) {
      case DT_SYMTAB:
        object->mapped_symbols = reinterpret_cast<const ElfW(Sym)*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRTAB:
        object->strings = reinterpret_cast<const char*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRSZ:
        object->strings_size = entry->d_un.d_val;
        break;
      case DT_HASH:
        object->count = reinterpret_cast<const uint32_t*>(DynamicAddress(*object, entry->d_un.d_ptr))[1];
        break;
      case DT_GNU_HASH:
        if (object->count == 0) {
          object->count = SymbolCountFromGnuHash(
              reinterpret_cast<const uint32_t*>(DynamicAddress(*object, entry->d_un.d_ptr)));
        }
        break;
      default:
        break;
    }
  }
  object->usable = object->mapped_symbols != nullptr && object->strings != nullptr;
}

// Builds the object's sorted table (once).
void BuildTable(LoadedObject* object) {
  object->read = true;
  if (!object->usable) return;
  const auto keep = [object](const ElfW(Sym)& entry) {
    Symbol symbol;
    if (CodeSymbol(*object, entry, &symbol)) object->symbols.push_back(symbol);
  };
  if (!(object->listed.empty() && VisitFileSymbols(object->count, keep))) {
    object->symbols.clear();
    for (size_t i = 0; i < object->count; i++) keep(object->mapped_symbols[i]);
  }
  object->symbols.shrink_to_fit();
  std::sort(object->symbols.begin(), object->symbols.end(), Before);
  uint32_t reach = 0;
  for (Symbol& symbol : object->symbols) {
    reach = std::max(reach, EndOf(symbol));
    symbol.reach = reach;
  }
}

// Fills in the symbol or the gap at `offset`: the answer's object is already set.
void Answer(const LoadedObject& object, const Symbol* found, uint64_t gap_from, uint64_t gap_to, SymbolAnswer* answer) {
  if (found != nullptr) {
    answer->symbol = object.strings + found->name;
    answer->start = object.low + found->start;
    answer->size = found->size;
    return;
  }
  answer->start = object.low + gap_from;
  answer->size = gap_to > gap_from ? gap_to - gap_from : 0;
}

// The executable's symbol at `offset` from one pass over its file, as the table would answer.
bool ScanFile(const LoadedObject& object, uint64_t offset, SymbolAnswer* answer) {
  if (!object.usable) return false;
  Symbol best{};
  bool covered = false;
  uint64_t reach = 0;                                          // furthest end of a symbol starting at or before
  uint64_t next = static_cast<uint64_t>(object.high - object.low);  // nearest start after
  const bool done = VisitFileSymbols(object.count, [&](const ElfW(Sym)& entry) {
    Symbol symbol;
    if (!CodeSymbol(object, entry, &symbol)) return;
    if (symbol.start > offset) {
      next = std::min<uint64_t>(next, symbol.start);
      return;
    }
    reach = std::max<uint64_t>(reach, EndOf(symbol));
    if (offset < EndOf(symbol) && (!covered || Before(best, symbol))) {
      best = symbol;
      covered = true;
    }
  });
  if (!done) return false;
  Answer(object, covered ? &best : nullptr, reach, next, answer);
  return true;
}

std::string ExecutablePath() {
  char buffer[4096];
  ssize_t length = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return length > 0 ? std::string(buffer, static_cast<size_t>(length)) : std::string();
}

// The cached object that holds `address`, its table read; null when no loaded object holds it.
LoadedObject* FindObject(uintptr_t address) {
  Listing listing;
  dl_iterate_phdr(ListObject, &listing);
  // Forget objects that are gone (or were replaced at the same place).
  auto& cached = *g_objects;
  cached.erase(std::remove_if(cached.begin(), cached.end(),
                              [&](const std::unique_ptr<LoadedObject>& old) {
                                for (const LoadedObject& now : listing.objects) {
                                  if (now.bias == old->bias && now.low == old->low && now.listed == old->listed) return false;
                                }
                                return true;
                              }),
               cached.end());
  for (const LoadedObject& now : listing.objects) {
    if (address < now.low || address >= now.high) continue;
    for (auto& old : cached) {
      if (old->bias == now.bias && old->low == now.low && old->listed == now.listed) return old.get();
    }
    cached.push_back(std::make_unique<LoadedObject>(now));
    LoadedObject* object = cached.back().get();
    object->path = object->listed.empty() ? ExecutablePath() : object->listed;
    ReadDynamic(object);
    return object;
  }
  return nullptr;
}

}  // namespace

SymbolAnswer LookupSymbol(uintptr_t address, SymbolSearch search) {
  SymbolAnswer answer;
  std::lock_guard<std::mutex> lock(g_mutex);
  LoadedObject* object = FindObject(address);
  if (object == nullptr) return answer;
  answer.found_object = true;
  answer.object = object->path;
  // Offsets from the object's first byte, as the table keeps them.
  const uint64_t offset = address - object->low;
  const bool scan = search == SymbolSearch::kScanForTests ||
                    (search == SymbolSearch::kAuto && !object->read && object->scans < kScansBeforeTable);
  if (scan && object->listed.empty()) {
    object->scans++;
    if (ScanFile(*object, offset, &answer)) return answer;
  }
  if (!object->read) BuildTable(object);
  const std::vector<Symbol>& symbols = object->symbols;
  auto after = std::upper_bound(symbols.begin(), symbols.end(), offset,
                                [](uint64_t value, const Symbol& symbol) { return value < symbol.start; });
  // Symbols starting at or before the address reach no further than `reach`: past it is a gap.
  if (after != symbols.begin() && offset < after[-1].reach) {
    for (auto it = after; it != symbols.begin();) {
      --it;
      if (offset < EndOf(*it)) {
        Answer(*object, &*it, 0, 0, &answer);
        return answer;
      }
    }
  }
  const uint64_t gap_from = after != symbols.begin() ? after[-1].reach : 0;
  const uint64_t gap_to = after != symbols.end() ? after->start : object->high - object->low;
  Answer(*object, nullptr, gap_from, gap_to, &answer);
  return answer;
}

}  // namespace sfprof
