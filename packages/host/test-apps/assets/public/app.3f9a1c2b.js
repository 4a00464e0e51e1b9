console.log("fingerprinted by hex");
