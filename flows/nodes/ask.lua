-- ask: asks a question (or lets the previous node's message be the
-- question), waits for the contact's reply, checks it and saves it.

local function trim(s)
  return s:match("^%s*(.-)%s*$")
end

-- The choice `value` (or the tapped button / list row `reply_id`) stands
-- for, or nil. The canonical spelling is returned so that later nodes
-- compare against one value whatever the contact typed.
local function find_choice(choices, value, reply_id, case_sensitive)
  local typed = case_sensitive and value or value:lower()
  for _, choice in ipairs(choices) do
    if choice == reply_id then return choice end
    if (case_sensitive and choice or choice:lower()) == typed then return choice end
  end
  return nil
end

return function(ctx, config)
  local question = config.text and ctx.template(config.text) or nil
  local seconds = config.timeout_seconds or 86400
  local answer = ctx.ask(question, {timeout = seconds > 0 and seconds or nil})
  if answer.timeout then return "timeout" end

  local text = type(answer.text) == "string" and answer.text or ""
  local value = trim(text)
  local rules = config.validation or {}
  local case_sensitive = rules.case_sensitive == true
  local valid = true
  if rules.regex and not ctx.regex(rules.regex, value, {case_sensitive = case_sensitive}) then
    valid = false
  end
  if valid and rules.choices then
    local message = type(answer.message) == "table" and answer.message or ctx.message
    local reply_id = type(message) == "table" and message.reply_id or nil
    local choice = find_choice(rules.choices, value, reply_id, case_sensitive)
    if choice then value = choice else valid = false end
  end

  if not valid then
    ctx.vars.last_invalid = text
    if config.save_invalid then ctx.vars[config.variable] = value end
    return "invalid"
  end
  ctx.vars[config.variable] = value
  return "reply"
end
