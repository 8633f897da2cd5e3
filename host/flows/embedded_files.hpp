#pragma once
// Files of the source tree's flows/ folder compiled into the binary (see
// cmake/EmbedFlowFiles.cmake): the node library, the document schema and the
// runtime's Lua prelude.
#include <string_view>
#include <vector>

namespace sb::flows {

struct EmbeddedFile {
  std::string_view path;     // relative to flows/, e.g. "nodes/send_text.lua"
  std::string_view content;
};

// Every embedded file, sorted by path.
const std::vector<EmbeddedFile>& embedded_flow_files();

}  // namespace sb::flows
