-- send_template: an approved WhatsApp message template, by name and
-- language, with its {{1}}, {{2}}... values: the body's always, a text
-- header's and the buttons' when given. The only message WhatsApp lets a
-- business send more than 24 hours after the contact last wrote.

local function values(ctx, list, what)
  local out = ctx.json.array({})
  for i, s in ipairs(list or {}) do
    local v = ctx.template(s)
    if v == "" then
      error(("send_template: %s parameter %d is empty once its {{...}} values are filled in " ..
             "(WhatsApp refuses empty template values)"):format(what, i), 0)
    end
    out[#out + 1] = v
  end
  return out
end

local function text_parameters(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = {type = "text", text = v} end
  return out
end

return function(ctx, config)
  local language = ctx.template(config.language)
  if not language:match("^[%w_%-]+$") or #language < 2 or #language > 16 then
    error(("send_template: the language %q is not a language code like \"en\" or \"en_US\""):format(language), 0)
  end
  local template = {name = config.name, language = language}
  local body = values(ctx, config.parameters, "body")
  local header = values(ctx, config.header_parameters, "header")
  if #header == 0 and not config.buttons then
    template.parameters = body
  else
    local components = ctx.json.array({})
    if #header > 0 then components[#components + 1] = {type = "header", parameters = text_parameters(header)} end
    if #body > 0 then components[#components + 1] = {type = "body", parameters = text_parameters(body)} end
    for i, b in ipairs(config.buttons or {}) do
      local v = ctx.template(b.value)
      if v == "" then
        error(("send_template: the value of button %d is empty once its {{...}} values are filled in"):format(i), 0)
      end
      local parameter = b.sub_type == "url" and {type = "text", text = v} or {type = "payload", payload = v}
      components[#components + 1] = {type = "button", sub_type = b.sub_type, index = tostring(b.index),
                                     parameters = {parameter}}
    end
    template.components = components
  end
  ctx.send({type = "template", template = template})
  return "next"
end
