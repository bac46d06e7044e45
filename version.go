package jwtguard

// Version is the version of this module, reported in the User-Agent of key fetches and available to logs.
const Version = "0.1.0"
