-- lua: runs the admin's inline code with ctx. The code may return the name of
-- a port (one named in the config's ports, or "error"); nothing means "next".
return function(ctx, config)
  local port = ctx.run_lua(config.code)
  if port == nil then return "next" end
  if type(port) ~= "string" then
    error(("lua: the code returned a %s; return a port name (a string) or nothing"):format(type(port)), 0)
  end
  if port == "next" or port == "error" then return port end
  for _, listed in ipairs(config.ports or {}) do
    if listed.name == port then return port end
  end
  error(("lua: the code returned the port %q, which is not in the node's ports"):format(port), 0)
end
