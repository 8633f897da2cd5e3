# switchboard_add_plugin(<target> MANIFEST <plugin.json> SOURCES <src>... [OUTPUT_DIR <dir>])
#
# Builds a Switchboard plugin as a MODULE library named after the manifest's
# "library" field and copies plugin.json next to it, so that the directory
# <OUTPUT_DIR>/<id>/ is a complete plugin the host can load. Used in-tree and
# shipped with the installed SDK package (find_package(SwitchboardSDK)).
function(switchboard_add_plugin target)
  cmake_parse_arguments(ARG "" "MANIFEST;OUTPUT_DIR" "SOURCES" ${ARGN})
  if(NOT ARG_MANIFEST)
    message(FATAL_ERROR "switchboard_add_plugin(${target}): MANIFEST is required")
  endif()
  get_filename_component(manifest "${ARG_MANIFEST}" ABSOLUTE)
  file(READ "${manifest}" manifest_text)
  string(JSON plugin_id GET "${manifest_text}" id)
  string(JSON plugin_library GET "${manifest_text}" library)
  if(NOT plugin_library MATCHES "^lib(.+)\\.so$")
    message(FATAL_ERROR "${manifest}: \"library\" must look like lib<name>.so, got ${plugin_library}")
  endif()
  set(output_name "${CMAKE_MATCH_1}")
  if(NOT ARG_OUTPUT_DIR)
    if(DEFINED SWITCHBOARD_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIR "${SWITCHBOARD_PLUGIN_OUTPUT_DIR}")
    else()
      set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
    endif()
  endif()
  set(plugin_dir "${ARG_OUTPUT_DIR}/${plugin_id}")

  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET SwitchboardSDK::sdk)
    target_link_libraries(${target} PRIVATE SwitchboardSDK::sdk)
  else()
    target_link_libraries(${target} PRIVATE switchboard_sdk)
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME "${output_name}"
    LIBRARY_OUTPUT_DIRECTORY "${plugin_dir}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Copy the manifest at build time so an edit to it is picked up.
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different "${manifest}" "${plugin_dir}/plugin.json"
    VERBATIM)
  set_property(TARGET ${target} PROPERTY SWITCHBOARD_PLUGIN_DIR "${plugin_dir}")
  set_property(GLOBAL APPEND PROPERTY SWITCHBOARD_PLUGIN_TARGETS ${target})
endfunction()
