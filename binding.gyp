{
  # The hot path. Sources: scripts/native-sources.js, the one list that the
  # cmake-js build (CMakeLists.txt: ASan addon, C++ tests, fuzz) reads too:
  # every native/*.cc except fuzz harnesses. Each file registers its exports
  # with native/registry.h, so adding a file needs no edit here. OpenSSL 3
  # and zlib come from Node's own headers and the symbols the node binary
  # exports: no second copy is linked.
  "targets": [
    {
      "target_name": "netbeacon",
      "sources": [
        "<!@(node scripts/native-sources.js)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_ADDON_API_CPP_EXCEPTIONS"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
