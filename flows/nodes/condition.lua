-- condition: "true" or "false", from a Lua expression or from whether the
-- workspace's local time falls within opening hours.

-- JSON null is a value in Lua (ctx.json.null), and a true one: count it as false.
local function truthy(ctx, v)
  return v ~= nil and v ~= false and v ~= ctx.json.null
end

local function minutes(hh_mm)
  local h, m = hh_mm:match("^(%d%d):(%d%d)$")
  return tonumber(h) * 60 + tonumber(m)
end

local function has(days, day)
  if days == nil then return true end  -- no days listed: every day
  for _, d in ipairs(days) do
    if d == day then return true end
  end
  return false
end

-- Whether `minute` of the day on ISO `weekday` falls within `span`
-- ({days, from, to}; from inclusive, to exclusive). A span whose end comes
-- before its start runs past midnight: the early hours belong to the day it
-- started on, so "Fri 22:00-02:00" includes Saturday 01:00.
local function within(span, weekday, minute)
  local from, to = minutes(span.from), minutes(span.to)
  if from < to then return has(span.days, weekday) and minute >= from and minute < to end
  if from > to then
    local day_before = weekday == 1 and 7 or weekday - 1
    return (has(span.days, weekday) and minute >= from) or (has(span.days, day_before) and minute < to)
  end
  return false
end

return function(ctx, config)
  if config.expression ~= nil then
    return truthy(ctx, ctx.eval(config.expression)) and "true" or "false"
  end
  local now = ctx.local_time()
  local minute = now.hour * 60 + now.minute
  for _, span in ipairs(config.within_hours) do
    if within(span, now.weekday, minute) then return "true" end
  end
  return "false"
end
