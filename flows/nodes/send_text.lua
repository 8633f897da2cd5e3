-- send_text: sends one text message to the contact.
return function(ctx, config)
  local text = ctx.template(config.text)
  -- A template whose values are all missing would send an empty message,
  -- which WhatsApp refuses; say so here, where the admin can see which node.
  if text == "" then
    error("send_text: the text is empty once its {{...}} values are filled in", 0)
  end
  ctx.send(text)
  return "next"
end
