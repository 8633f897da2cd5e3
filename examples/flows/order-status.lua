-- examples/flows/order-status.lua
-- A flow written in Lua instead of drawn as a graph (docs/flows.md, "Lua
-- flows"): the same ctx API as the node library, with loops in plain code.
--
-- After every wait (ctx.ask, ctx.delay) main() runs again from the top and
-- each ctx call made before the wait returns what it returned the first time,
-- without doing it again. So main() must take the same path every time: it
-- sets variables to values (attempts = 2), never bumps them (attempts + 1).

local kMaxTries = 3

-- A stand-in for the shop's order API, so that the example runs anywhere. A
-- real flow would call it with ctx.http{method = "GET", url = ...} here.
local function status_of(number)
  if tonumber(number:sub(-1)) % 2 == 0 then
    return "has shipped and should arrive within 2 working days"
  end
  return "is being packed and ships tomorrow"
end

return {
  id = "order-status",
  name = "Order status",
  trigger = {type = "keyword", keywords = {"order"}, match = "starts_with"},
  main = function(ctx)
    local prompt = "Sure! What's your order number? You'll find it in your confirmation email."
    for attempt = 1, kMaxTries do
      ctx.vars.attempts = attempt
      local answer = ctx.ask(prompt, {timeout = 600})
      if answer.timeout then
        ctx.send("No problem. Write \"order\" again when you have your order number at hand.")
        return
      end
      local found = ctx.regex("^\\s*#?\\s*(\\d{4,10})\\s*$", type(answer.text) == "string" and answer.text or "")
      if found then
        local number = found.groups[1]
        ctx.vars.order_number = number
        ctx.send("Thanks! Checking order " .. number .. "...")
        ctx.delay(2)
        ctx.vars.order_status = status_of(number)
        ctx.send("Order " .. number .. " " .. ctx.vars.order_status .. ".")
        return
      end
      prompt = "Hmm, an order number has 4 to 10 digits, like 10423. Please try again."
    end
    ctx.send("Sorry, I still couldn't read an order number. Please check your confirmation email and write \"order\" again.")
  end,
}
