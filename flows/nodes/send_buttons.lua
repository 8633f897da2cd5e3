-- send_buttons: a message with up to three reply buttons, in the WhatsApp
-- Cloud API "interactive" shape. The contact's tap comes back as a message
-- whose reply_id is the button's id (route it with ask choices or a switch).

-- The template `s` filled in and cut to `limit` characters, or nil when it
-- comes out empty. Labels are short and may hold templates: a long name
-- shortened is better than a message WhatsApp refuses.
local function label(ctx, s, limit)
  if s == nil then return nil end
  local text = ctx.template(s)
  local length = utf8.len(text)
  if length and length > limit then text = text:sub(1, utf8.offset(text, limit + 1) - 1) end
  if text == "" then return nil end
  return text
end

return function(ctx, config)
  local text = ctx.template(config.text)
  if text == "" then
    error("send_buttons: the text is empty once its {{...}} values are filled in", 0)
  end
  local buttons, seen = ctx.json.array({}), {}
  for i, button in ipairs(config.buttons) do
    if seen[button.id] then
      error(("send_buttons: two buttons have the id %q; each button needs its own"):format(button.id), 0)
    end
    seen[button.id] = true
    local title = label(ctx, button.title, 20)
    if not title then
      error(("send_buttons: the title of button %q is empty once its {{...}} values are filled in"):format(button.id), 0)
    end
    buttons[i] = {type = "reply", reply = {id = button.id, title = title}}
  end
  local interactive = {type = "button", body = {text = text}, action = {buttons = buttons}}
  local header, footer = label(ctx, config.header, 60), label(ctx, config.footer, 60)
  if header then interactive.header = {type = "text", text = header} end
  if footer then interactive.footer = {text = footer} end
  ctx.send({type = "interactive", text = text, interactive = interactive})
  return "next"
end
