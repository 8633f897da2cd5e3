-- delay: waits, then goes on. The execution is saved while it waits, so a
-- restart does not lose it; messages meanwhile may start other flows.
return function(ctx, config)
  ctx.delay(config.seconds)
  return "next"
end
