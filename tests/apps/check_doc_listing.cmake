# cmake -DDOC=doc.md -DFILES=a.cpp|b.cpp -P check_doc_listing.cmake: fails unless each file's whole text
# stands in the document verbatim (so the code a reader copies is the code CI compiles).
file(READ "${DOC}" doc)
string(REPLACE "|" ";" files "${FILES}")
foreach(f IN LISTS files)
  file(READ "${f}" text)
  string(FIND "${doc}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${DOC} does not hold the current text of ${f}: copy the file into its listing")
  endif()
endforeach()
message(STATUS "every listing of ${DOC} matches its file")
