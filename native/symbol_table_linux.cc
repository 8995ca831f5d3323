// See symbol_table.h. Linux: each lookup lists the loaded objects again with dl_iterate_phdr (a few
// microseconds), so an object unloaded since its table was read is forgotten before its memory could
// be read; an object's symbols come from its dynamic symbol table, sizes included.
#include "symbol_table.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace sfprof {
namespace {

struct Symbol {
  uintptr_t start;
  uintptr_t size;
  const char* name;  // in the object's mapped string table
  uintptr_t reach;   // the furthest end of this symbol and every one before it
};

struct LoadedObject {
  std::string listed;  // the loader's name for it: empty for the executable
  std::string path;
  uintptr_t bias = 0;
  uintptr_t low = 0;   // first byte of its loaded segments
  uintptr_t high = 0;  // past the last
  const ElfW(Dyn)* dynamic = nullptr;
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

void ReadSymbols(LoadedObject* object) {
  object->read = true;
  if (object->dynamic == nullptr) return;
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  size_t strings_size = 0;
  size_t count = 0;
  for (const ElfW(Dyn)* entry = object->dynamic; entry->d_tag != DT_NULL; entry++) {
    switch (entry->d_tag) {
      case DT_SYMTAB:
        symbols = reinterpret_cast<const ElfW(Sym)*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRTAB:
        strings = reinterpret_cast<const char*>(DynamicAddress(*object, entry->d_un.d_ptr));
        break;
      case DT_STRSZ:
        strings_size = entry->d_un.d_val;
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
  if (symbols == nullptr || strings == nullptr) return;
  object->symbols.reserve(count);
  for (size_t i = 0; i < count; i++) {
    const ElfW(Sym)& symbol = symbols[i];
    const int type = ELF64_ST_TYPE(symbol.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
    if (symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0 || symbol.st_name >= strings_size) continue;
    object->symbols.push_back({object->bias + symbol.st_value, symbol.st_size, strings + symbol.st_name, 0});
  }
  std::sort(object->symbols.begin(), object->symbols.end(),
            [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
  uintptr_t reach = object->low;
  for (Symbol& symbol : object->symbols) {
    // A symbol of unknown size (0) covers its first byte only, as for dladdr().
    reach = std::max(reach, symbol.start + std::max<uintptr_t>(symbol.size, 1));
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
  auto after = std::upper_bound(symbols.begin(), symbols.end(), address,
                                [](uintptr_t value, const Symbol& symbol) { return value < symbol.start; });
  // Symbols starting at or before the address reach no further than `reach`: past it is a gap.
  if (after != symbols.begin() && address < after[-1].reach) {
    for (auto it = after; it != symbols.begin();) {
      --it;
      if (address < it->start + std::max<uintptr_t>(it->size, 1)) {
        answer.symbol = it->name;
        answer.start = it->start;
        answer.size = it->size;
        return answer;
      }
    }
  }
  const uintptr_t gap_start = after != symbols.begin() ? std::max(after[-1].reach, object->low) : object->low;
  const uintptr_t gap_end = after != symbols.end() ? after->start : object->high;
  answer.start = gap_start;
  answer.size = gap_end > gap_start ? gap_end - gap_start : 0;
  return answer;
}

}  // namespace sfprof
