// See signal_chain.h: V8ProfilerThreadRunning on Linux, from the thread names under /proc.
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "signal_chain.h"

namespace sfprof {

// True while V8's CPU profiler runs in this process: it runs a thread named "v8:ProfEvntProc" only
// then. This also catches a profiler whose SIGPROF handler is hidden under another library's own
// (@datadog/pprof installs its handler over V8's and later puts V8's back, which then restores the
// default disposition when V8's profiler stops).
bool V8ProfilerThreadRunning() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return false;
  bool found = false;
  while (!found) {
    struct dirent* task = readdir(tasks);
    if (task == nullptr) break;
    if (task->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + task->d_name + "/comm";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char name[32];
    const ssize_t length = read(fd, name, sizeof(name) - 1);
    close(fd);
    if (length <= 0) continue;
    name[length] = '\0';
    found = strncmp(name, "v8:ProfEvntProc", 15) == 0;
  }
  closedir(tasks);
  return found;
}

}  // namespace sfprof
