-- send_reaction: an emoji on a message — by default on the message that
-- started the execution (or the last reply it received), otherwise on the
-- message whose id the template message_id comes out as. An empty emoji
-- removes the reaction.

return function(ctx, config)
  local id
  if config.message_id then
    id = ctx.template(config.message_id)
    if id == "" then
      error("send_reaction: the message_id is empty once its {{...}} values are filled in", 0)
    end
  else
    id = ctx.message and ctx.message.id
    if not id or id == "" then
      error("send_reaction: there is no message to react to (the execution did not start from a message); " ..
            "set message_id", 0)
    end
  end
  if config.emoji:find("[%a%s]") then
    error(("send_reaction: the emoji %q is not one emoji (\"\" removes a reaction)"):format(config.emoji), 0)
  end
  local reaction = {emoji = config.emoji}
  if config.external and config.message_id then reaction.external_id = id else reaction.message_id = id end
  ctx.send({type = "reaction", reaction = reaction})
  return "next"
end
