-- switch: takes the port of the first case that matches a value (by
-- default the message text), or "default".

local function trim(s)
  return s:match("^%s*(.-)%s*$")
end

-- JSON null is a value in Lua (ctx.json.null), and a true one: count it as false.
local function truthy(ctx, v)
  return v ~= nil and v ~= false and v ~= ctx.json.null
end

local function matches(ctx, case, value, reply_id)
  local how = case.match or "equals"
  if how == "expression" then return truthy(ctx, ctx.eval(case.value)) end
  if how == "regex" then
    return ctx.regex(case.value, value, {case_sensitive = case.case_sensitive == true}) ~= nil
  end
  -- A tapped button or list row is routed by its id, whatever its title says.
  if how == "equals" and reply_id ~= nil and reply_id == case.value then return true end
  local subject, wanted = value, case.value
  if not case.case_sensitive then subject, wanted = subject:lower(), wanted:lower() end
  if how == "equals" then return subject == wanted end
  if how == "contains" then return subject:find(wanted, 1, true) ~= nil end
  if how == "starts_with" then return subject:sub(1, #wanted) == wanted end
  error(("switch: case %q has an unknown match %q"):format(case.id, how), 0)
end

return function(ctx, config)
  local value = trim(ctx.template(config.value or "{{message.text}}"))
  local reply_id = type(ctx.message) == "table" and ctx.message.reply_id or nil
  for _, case in ipairs(config.cases) do
    if matches(ctx, case, value, reply_id) then return "match:" .. case.id end
  end
  return "default"
end
