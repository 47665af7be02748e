{
  "targets": [
    {
      "target_name": "berth_addon",
      "sources": ["<!@(ls -1 native/addon/*.c)"],
      "include_dirs": ["native/include"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "berth-runtime",
      "type": "executable",
      "sources": [
        "<!@(ls -1 native/front/*.c native/executor/*.c)",
        "native/sandbox/launch.c"
      ],
      "include_dirs": ["native/include"],
      "defines": [
        "BERTH_NODE_PATH=\"<!(node -p process.execPath)\""
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static-libgcc"]
    },
    {
      "target_name": "berth",
      "type": "executable",
      "sources": ["<!@(ls -1 native/cli/*.c)"],
      "include_dirs": ["native/include"],
      "defines": [
        "BERTH_NODE_PATH=\"<!(node -p process.execPath)\""
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static-libgcc"]
    },
    {
      "target_name": "berth-shim",
      "type": "executable",
      "sources": [
        "<!@(ls -1 native/shim/*.c native/executor/*.c)",
        "native/front/main.c", "native/front/wait.c", "native/front/fds.c", "native/front/console.c",
        "native/sandbox/launch.c"
      ],
      "include_dirs": ["native/include"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static-libgcc"]
    },
    {
      "target_name": "berth-sandbox-supervisor",
      "type": "executable",
      "sources": [
        "<!@(ls -1 native/sandbox/supervisor/*.c)",
        "native/executor/wire.c"
      ],
      "include_dirs": ["native/include"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static-libgcc"]
    },
    {
      "target_name": "berth-vm-agent",
      "type": "executable",
      "sources": ["<!@(ls -1 native/vm-agent/agent/*.c)", "native/vm-agent/frame.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static"]
    },
    {
      "target_name": "berth-vm-keeper",
      "type": "executable",
      "sources": ["<!@(ls -1 native/vm-agent/keeper/*.c)", "native/vm-agent/frame.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"],
      "ldflags": ["-static-libgcc"]
    }
  ]
}
