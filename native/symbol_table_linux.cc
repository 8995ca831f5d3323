// See symbol_table.h. Linux: each lookup lists the loaded objects again with dl_iterate_phdr (a few
// microseconds), so an object unloaded since its table was read is forgotten before its memory could
// be read; an object's symbols come from its dynamic symbol table, sizes included.
//
// Memory: Node's own table has ~67,000 functions in 1.8 MB of symbols. Read through its mapping,
// every page of it would join the process's RSS for good; the executable's table is read from the
// file instead (the page cache is not ours), and each function is kept in 16 bytes, as offsets.
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

struct LoadedObject {
  std::string listed;  // the loader's name for it: empty for the executable
  std::string path;
  uintptr_t bias = 0;
  uintptr_t low = 0;   // first byte of its loaded segments
  uintptr_t high = 0;  // past the last
  const ElfW(Dyn)* dynamic = nullptr;
  const char* strings = nullptr;  // the mapped string table the names are in
  size_t strings_size = 0;
  bool read = false;
  std::vector<Symbol> symbols;  // code symbols, by start
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

// Keeps a function symbol of the table; false when the object is too large for offsets.
bool Keep(LoadedObject* object, const ElfW(Sym)& symbol) {
  const int type = ELF64_ST_TYPE(symbol.st_info);
  if (type != STT_FUNC && type != STT_GNU_IFUNC) return true;
  if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0 || symbol.st_name >= object->strings_size) return true;
  const uintptr_t start = object->bias + symbol.st_value;
  if (start < object->low || start - object->low > UINT32_MAX || symbol.st_size > UINT32_MAX) return true;
  object->symbols.push_back({static_cast<uint32_t>(start - object->low), static_cast<uint32_t>(symbol.st_size), symbol.st_name, 0});
  return true;
}

// The executable's dynamic symbols, read from its file in chunks; false when that fails (the
// caller then reads the mapped table).
bool ReadSymbolsFromFile(LoadedObject* object, size_t count) {
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
          for (size_t i = 0; i < n; i++) Keep(object, chunk[i]);
          at += n;
        }
        break;
      }
    }
  }
  close(fd);
  if (!done) object->symbols.clear();
  return done;
}

void ReadSymbols(LoadedObject* object) {
  object->read = true;
  if (object->dynamic == nullptr || object->high - object->low > UINT32_MAX) return;
  const ElfW(Sym)* symbols = nullptr;
  size_t count = 0;
  for (const ElfW(Dyn)* entry = object->dynamic; entry->d_tag != DT_NULL; entry++) {
    switch (entry->d_tag) {
      case DT_SYMTAB:
        symbols = reinterpret_cast<const ElfW(Sym)*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRTAB:
        object->strings = reinterpret_cast<const char*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRSZ:
        object->strings_size = entry->d_un.d_val;
        break;
      case DT_HASH:
        count = reinterpret_cast<const uint32_t*>(DynamicAddress(*object, entry->d_un.d_ptr))[1];
        break;
      case DT_GNU_HASH:
        if (count == 0) {
          count = SymbolCountFromGnuHash(
              reinterpret_cast<const uint32_t*>(DynamicAddress(*object, entry->d_un.d_ptr)));
        }
        break;
      default:
        break;
    }
  }
  if (symbols == nullptr || object->strings == nullptr) return;
  if (!(object->listed.empty() && ReadSymbolsFromFile(object, count))) {
    for (size_t i = 0; i < count; i++) Keep(object, symbols[i]);
  }
  object->symbols.shrink_to_fit();
  std::sort(object->symbols.begin(), object->symbols.end(),
            [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
  uint32_t reach = 0;
  for (Symbol& symbol : object->symbols) {
    // A symbol of unknown size (0) covers its first byte only, as for dladdr().
    const uint64_t end = static_cast<uint64_t>(symbol.start) + std::max<uint32_t>(symbol.size, 1);
    reach = static_cast<uint32_t>(std::max<uint64_t>(reach, std::min<uint64_t>(end, UINT32_MAX)));
    symbol.reach = reach;
  }
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
    ReadSymbols(object);
    return object;
  }
  return nullptr;
}

}  // namespace

SymbolAnswer LookupSymbol(uintptr_t address) {
  SymbolAnswer answer;
  std::lock_guard<std::mutex> lock(g_mutex);
  LoadedObject* object = FindObject(address);
  if (object == nullptr) return answer;
  answer.found_object = true;
  answer.object = object->path;
  const std::vector<Symbol>& symbols = object->symbols;
  // Offsets from the object's first byte, as the table keeps them.
  const uint64_t offset = address - object->low;
  auto after = std::upper_bound(symbols.begin(), symbols.end(), offset,
                                [](uint64_t value, const Symbol& symbol) { return value < symbol.start; });
  // Symbols starting at or before the address reach no further than `reach`: past it is a gap.
  if (after != symbols.begin() && offset < after[-1].reach) {
    for (auto it = after; it != symbols.begin();) {
      --it;
      if (offset < static_cast<uint64_t>(it->start) + std::max<uint32_t>(it->size, 1)) {
        answer.symbol = object->strings + it->name;
        answer.start = object->low + it->start;
        answer.size = it->size;
        return answer;
      }
    }
  }
  const uintptr_t gap_start = after != symbols.begin() ? object->low + after[-1].reach : object->low;
  const uintptr_t gap_end = after != symbols.end() ? object->low + after->start : object->high;
  answer.start = gap_start;
  answer.size = gap_end > gap_start ? gap_end - gap_start : 0;
  return answer;
}

}  // namespace sfprof
