{
  # The hot path. Sources are every native/*.cc except fuzz harnesses; each
  # file registers its exports with native/registry.h, so adding a file needs
  # no edit here. OpenSSL 3 and zlib come from Node's own headers and the
  # symbols the node binary exports: no second copy is linked.
  "targets": [
    {
      "target_name": "netbeacon",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.cc') && !f.startsWith('fuzz_')).map(f => 'native/' + f).join(' ')\")"
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
