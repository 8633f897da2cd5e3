-- end: ends the execution.
return function(ctx, config)
  return nil
end
