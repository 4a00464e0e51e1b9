console.log("private and fingerprinted");
