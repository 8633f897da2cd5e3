-- send_contact: one or more contact cards (name, phones, emails,
-- organization), e.g. the number of the branch or the person to call.

local function optional(ctx, s)
  local expanded = s and ctx.template(s)
  if expanded == "" then return nil end
  return expanded
end

return function(ctx, config)
  local contacts = ctx.json.array({})
  for i, c in ipairs(config.contacts) do
    local name = ctx.template(c.name)
    if name == "" then
      error(("send_contact: the name of contact %d is empty once its {{...}} values are filled in"):format(i), 0)
    end
    local card = {name = name, organization = optional(ctx, c.organization)}
    local phones, emails = ctx.json.array({}), ctx.json.array({})
    for _, p in ipairs(c.phones or {}) do
      local phone = ctx.template(p)
      if phone ~= "" then
        if not phone:match("^%+?[%d%s%-%(%)%.]+$") then
          error(("send_contact: %q (a phone of contact %q) is not a phone number"):format(phone, name), 0)
        end
        phones[#phones + 1] = {phone = phone}
      end
    end
    for _, e in ipairs(c.emails or {}) do
      local email = ctx.template(e)
      if email ~= "" then
        if not email:match("^[^@%s]+@[^@%s]+$") then
          error(("send_contact: %q (an email of contact %q) is not an email address"):format(email, name), 0)
        end
        emails[#emails + 1] = {email = email}
      end
    end
    if #phones == 0 and #emails == 0 then
      error(("send_contact: contact %q has no phone and no email once its {{...}} values are filled in"):format(name), 0)
    end
    if #phones > 0 then card.phones = phones end
    if #emails > 0 then card.emails = emails end
    contacts[#contacts + 1] = card
  end
  ctx.send({type = "contact", contacts = contacts})
  return "next"
end
