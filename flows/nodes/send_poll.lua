-- send_poll: a question with 2 to 12 options the contact votes on (on
-- channels that send polls; WhatsApp Cloud does not, the sandbox does).

return function(ctx, config)
  local question = ctx.template(config.question)
  if question == "" then
    error("send_poll: the question is empty once its {{...}} values are filled in", 0)
  end
  local options, seen = ctx.json.array({}), {}
  for i, o in ipairs(config.options) do
    local option = ctx.template(o)
    if option == "" then
      error(("send_poll: option %d is empty once its {{...}} values are filled in"):format(i), 0)
    end
    if seen[option] then
      error(("send_poll: the option %q is there twice; each option must be different"):format(option), 0)
    end
    seen[option] = true
    options[#options + 1] = option
  end
  ctx.send({type = "poll", poll = {question = question, options = options, multiple = config.multiple == true}})
  return "next"
end
