-- send_list: a message with a button that opens a list of up to ten rows in
-- sections, in the WhatsApp Cloud API "interactive" shape. The contact's pick
-- comes back as a message whose reply_id is the row's id.

local kMaxRows = 10  -- in all sections together: a rule the config schema cannot state

-- The template `s` filled in and cut to `limit` characters, or nil when it
-- comes out empty (labels may hold templates; see send_buttons).
local function label(ctx, s, limit)
  if s == nil then return nil end
  local text = ctx.template(s)
  local length = utf8.len(text)
  if length and length > limit then text = text:sub(1, utf8.offset(text, limit + 1) - 1) end
  if text == "" then return nil end
  return text
end

local function required_label(ctx, s, limit, what)
  local text = label(ctx, s, limit)
  if not text then error(("send_list: %s is empty once its {{...}} values are filled in"):format(what), 0) end
  return text
end

return function(ctx, config)
  local text = required_label(ctx, config.text, math.huge, "the text")
  local sections, seen, count = ctx.json.array({}), {}, 0
  for i, section in ipairs(config.sections) do
    local rows = ctx.json.array({})
    for j, row in ipairs(section.rows) do
      count = count + 1
      if seen[row.id] then
        error(("send_list: two rows have the id %q; each row needs its own"):format(row.id), 0)
      end
      seen[row.id] = true
      rows[j] = {
        id = row.id,
        title = required_label(ctx, row.title, 24, ("the title of row %q"):format(row.id)),
        description = label(ctx, row.description, 72),
      }
    end
    sections[i] = {title = label(ctx, section.title, 24), rows = rows}
  end
  if count > kMaxRows then
    error(("send_list: the list has %d rows; WhatsApp allows at most %d in all sections together"):format(count, kMaxRows), 0)
  end
  local interactive = {
    type = "list",
    body = {text = text},
    action = {button = required_label(ctx, config.button, 20, "the button label"), sections = sections},
  }
  local header, footer = label(ctx, config.header, 60), label(ctx, config.footer, 60)
  if header then interactive.header = {type = "text", text = header} end
  if footer then interactive.footer = {text = footer} end
  ctx.send({type = "interactive", text = text, interactive = interactive})
  return "next"
end
