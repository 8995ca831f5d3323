// See symbol_table.h. macOS (not built or run by this project's CI): there is no dl_iterate_phdr or
// <link.h>, and the loaded images' symbol tables would have to be read from their Mach-O load
// commands (_dyld_image_count and friends). dladdr gives the image and the nearest exported symbol
// before the address, without its size: the answer's size stays 0 (unknown), so the symbolizer
// caches it for that address only.
#include "symbol_table.h"

#include <dlfcn.h>

namespace sfprof {

SymbolAnswer LookupSymbol(uintptr_t address, SymbolSearch) {
  SymbolAnswer answer;
  Dl_info found;
  if (dladdr(reinterpret_cast<void*>(address), &found) == 0 || found.dli_fname == nullptr) return answer;
  answer.found_object = true;
  answer.object = found.dli_fname;
  if (found.dli_sname != nullptr && found.dli_saddr != nullptr) {
    answer.symbol = found.dli_sname;
    answer.start = reinterpret_cast<uintptr_t>(found.dli_saddr);
  }
  return answer;
}

}  // namespace sfprof
