{
  "variables": {
    "sfprof_sanitize%": ""
  },
  "targets": [
    {
      "target_name": "sfprof",
      "sources": [
        "native/addon.cc",
        "native/code_events.cc",
        "native/drain.cc",
        "native/gc_cause.cc",
        "native/gc_cause_callbacks.cc",
        "native/labels.cc",
        "native/other_threads.cc",
        "native/ring_watcher.cc",
        "native/session.cc",
        "native/session_process.cc",
        "native/session_workers.cc",
        "native/session_listing.cc",
        "native/signal_chain.cc",
        "native/signal_handler.cc",
        "native/stall_watch.cc",
        "native/thread_registry.cc",
        "native/timer_itimer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/signal_chain_linux.cc",
            "native/stall_probe_linux.cc",
            "native/symbol_table_linux.cc",
            "native/thread_cpu_clock_linux.cc",
            "native/timer_linux.cc",
            "native/timer_pacer_linux.cc",
            "native/timer_linux_weight.cc"
          ],
          "cflags": ["-include", "<(module_root_dir)/native/glibc_compat.h"],
          "cflags_cc": ["-include", "<(module_root_dir)/native/glibc_compat.h"],
          "ldflags": ["-Wl,-z,now"],
          "libraries": ["-Wl,--push-state,--no-as-needed", "-l:librt.so.1", "-l:libpthread.so.0", "-l:libdl.so.2", "-Wl,--pop-state"]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/signal_chain_darwin.cc",
            "native/stall_probe_darwin.cc",
            "native/symbol_table_darwin.cc",
            "native/thread_cpu_clock_darwin.cc",
            "native/thread_slot_darwin.cc",
            "native/timer_darwin.cc"
          ],
          "xcode_settings": {
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "WARNING_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
          }
        }],
        ["sfprof_sanitize!=''", {
          "cflags": ["-fsanitize=<(sfprof_sanitize)", "-fno-omit-frame-pointer", "-g"],
          "cflags_cc": ["-fsanitize=<(sfprof_sanitize)", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=<(sfprof_sanitize)"]
        }]
      ]
    }
  ]
}
